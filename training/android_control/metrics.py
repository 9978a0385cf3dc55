"""AndroidControl step accuracy under the two scoring rules in use. Always report both, say which.

Rule (a), AndroidControl paper / Ai2 (the rule behind Molmo's 88.7 % low / 69.0 % high): action
types must match; a click or long press is right when it falls inside the smallest visible
accessibility element that contains the true tap (when no element contains it, within +-10 px of
it in x and y); typed text must match exactly (case-insensitive); scroll direction and app name
must match; a click on the app's icon (an element whose text or description is the app name)
counts as a correct open_app.

Rule (b), OS-Atlas / UI-TARS: action types must match; a click is right when within 14 % of the
screen (distance <= 140 in 0-1000 normalised coordinates); text and app names are right on an exact
(case-insensitive) match or a token F1 above 0.5; scroll direction must match.

    >>> score = score_step(predicted_action, true_action, nodes=parse_forest(tree))
    >>> score.rule_a, score.rule_b
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from molmo_agent.training.android_control.accessibility import UINode, smallest_element_containing
from molmo_agent.training.android_control.actions import Action

PROTOCOL = (
    "AndroidControl step accuracy, two rules. "
    "(a) AndroidControl paper / Ai2 (Molmo's reported numbers): types must match; click/long press inside the "
    "smallest visible accessibility element containing the true tap (else within +-10 px); text exact "
    "(case-insensitive); scroll direction and app name must match; a click on the app's icon counts as open_app. "
    "(b) OS-Atlas / UI-TARS: types must match; click within 14% of the screen (<= 140 in 0-1000 space); text and "
    "app name exact or token F1 > 0.5; scroll direction must match."
)
PIXEL_TOLERANCE = 10.0
NORMALISED_DISTANCE = 140.0


@dataclass(frozen=True)
class StepScore:
    """Whether one predicted step is right under rule (a) and under rule (b).

        >>> step_accuracy([StepScore(True, True), StepScore(False, True)])["rule_a_accuracy"]
        0.5
    """

    rule_a: bool
    rule_b: bool


def token_f1(a: str, b: str) -> float:
    pa, pb = a.lower().split(), b.lower().split()
    common = sum((Counter(pa) & Counter(pb)).values())
    if not pa or not pb or common == 0:
        return float(pa == pb)
    precision, recall = common / len(pa), common / len(pb)
    return 2 * precision * recall / (precision + recall)


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


def _rule_a(pred: Action, true: Action, nodes: list[UINode]) -> bool:
    if true.action_type == "open_app" and pred.action_type == "click":
        return any(n.contains(pred.x, pred.y) and n.is_visible and
                   (_same_text(n.text, true.app_name) or _same_text(n.content_description, true.app_name))
                   for n in nodes)
    if pred.action_type != true.action_type:
        return False
    kind = true.action_type
    if kind in ("click", "long_press"):
        target = smallest_element_containing(nodes, true.x, true.y)
        if target is not None:
            return target.contains(pred.x, pred.y)
        return abs(pred.x - true.x) <= PIXEL_TOLERANCE and abs(pred.y - true.y) <= PIXEL_TOLERANCE
    if kind == "input_text":
        return _same_text(pred.text, true.text)
    if kind == "scroll":
        return pred.direction == true.direction
    if kind == "open_app":
        return _same_text(pred.app_name, true.app_name)
    return True


def _rule_b(pred: Action, true: Action, screen: tuple[int, int]) -> bool:
    if pred.action_type != true.action_type:
        return False
    kind = true.action_type
    if kind in ("click", "long_press"):
        width, height = screen
        dx = 1000.0 * (pred.x - true.x) / width
        dy = 1000.0 * (pred.y - true.y) / height
        return math.hypot(dx, dy) <= NORMALISED_DISTANCE
    if kind in ("input_text", "open_app"):
        a, b = (pred.text, true.text) if kind == "input_text" else (pred.app_name, true.app_name)
        return _same_text(a, b) or token_f1(a or "", b or "") > 0.5
    if kind == "scroll":
        return pred.direction == true.direction
    return True


def score_step(pred: Action | None, true: Action, nodes: list[UINode] | None = None,
               screen: tuple[int, int] | None = None) -> StepScore:
    """Both rules for one step; ``pred`` None (unparseable answer) is wrong under both."""
    if pred is None:
        return StepScore(False, False)
    screen = screen or true.screen
    if screen is None:
        raise ValueError("score_step needs the screen size")
    return StepScore(_rule_a(pred, true, nodes or []), _rule_b(pred, true, screen))


def step_accuracy(scores: list[StepScore]) -> dict[str, float]:
    n = len(scores)
    return {
        "steps": n,
        "rule_a_accuracy": sum(s.rule_a for s in scores) / n if n else 0.0,
        "rule_b_accuracy": sum(s.rule_b for s in scores) / n if n else 0.0,
    }


def accuracy_by_action_type(scores: list[StepScore], action_types: list[str]) -> dict[str, dict[str, float]]:
    """:func:`step_accuracy` for each true action type: which kinds of step a model gets wrong.

        >>> by_type = accuracy_by_action_type([StepScore(True, True), StepScore(False, True)], ["wait", "click"])
        >>> by_type["click"]["rule_a_accuracy"], by_type["wait"]["steps"]
        (0.0, 1)
    """
    if len(scores) != len(action_types):
        raise ValueError(f"{len(scores)} scores but {len(action_types)} action types")
    groups: dict[str, list[StepScore]] = defaultdict(list)
    for score, action_type in zip(scores, action_types):
        groups[action_type].append(score)
    return {action_type: step_accuracy(group) for action_type, group in sorted(groups.items())}
