"""AndroidControl steps -> Molmo training examples, low level and high level.

For step i of an episode the image is screenshot i and the answer is
``Plan: <step instruction i> Action: <action i>``:

- low level: the prompt gives the step instruction: ``low_level: <instruction>``;
- high level: the prompt gives only the goal and the actions taken so far:
  ``high_level: <goal>`` followed by ``Previous actions: <a1>; <a2>; ...`` when there are any,
  so the model must plan the step itself.

``level="both"`` packs both annotations of a screenshot into one example (one image encoding).

    >>> examples = episode_examples(episode, level="both")
    >>> examples[0].annotations[0][0].prompt
    'low_level: Open the settings app'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from molmo_agent.training.android_control.actions import Action, format_action, format_answer
from molmo_agent.training.android_control.episodes import Episode
from molmo_agent.training.data.example import Example, Turn
from molmo_agent.training.errors import DataError

LEVELS = ("low", "high", "both")


@dataclass
class Step:
    """One step of an episode: its screenshot, the true action and the context before it.

        >>> step = next(episode_steps(episode)); step.instruction, step.action
    """

    episode_id: int
    index: int
    screenshot: bytes
    screen: tuple[int, int]
    accessibility_tree: bytes | None
    goal: str
    instruction: str
    action: Action
    previous_actions: list[Action]


def episode_steps(episode: Episode) -> Iterator[Step]:
    for i, action in enumerate(episode.actions):
        yield Step(
            episode_id=episode.episode_id, index=i, screenshot=episode.screenshots[i], screen=episode.sizes[i],
            accessibility_tree=episode.accessibility_trees[i] if episode.accessibility_trees else None,
            goal=episode.goal, instruction=episode.step_instructions[i], action=action,
            previous_actions=episode.actions[:i],
        )


def step_prompt(step: Step, level: str) -> str:
    if level == "low":
        return f"low_level: {step.instruction}"
    if level == "high":
        prompt = f"high_level: {step.goal}"
        if step.previous_actions:
            prompt += " Previous actions: " + "; ".join(format_action(a) for a in step.previous_actions)
        return prompt
    raise DataError(f"level must be 'low' or 'high', got {level!r}")


def step_example(step: Step, level: str) -> Example:
    if level not in LEVELS:
        raise DataError(f"level must be one of {LEVELS}, got {level!r}")
    levels = ("low", "high") if level == "both" else (level,)
    answer = format_answer(step.instruction, step.action)
    return Example(
        image=step.screenshot,
        annotations=[[Turn(step_prompt(step, lv), answer)] for lv in levels],
        source="android_control",
        metadata={"episode_id": step.episode_id, "step": step.index},
    )


def episode_examples(episode: Episode, level: str = "both") -> list[Example]:
    return [step_example(step, level) for step in episode_steps(episode)]


class AndroidControlSource:
    """An example source over the steps of a set of episodes (for the training mixture).

        >>> source = AndroidControlSource(read_episodes(files).episodes, level="both"); len(source)
    """

    def __init__(self, episodes: list[Episode], level: str = "both", name: str = "android_control") -> None:
        self.name = name
        self.level = level
        self.steps = [step for episode in episodes for step in episode_steps(episode)]

    def __len__(self) -> int:
        return len(self.steps)

    def get(self, index: int, rng) -> Example:
        return step_example(self.steps[index], self.level)
