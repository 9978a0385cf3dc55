"""Instructions for GUI screens: pick a target element and phrase what to do with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from molmo_agent.sims import vocab
from molmo_agent.sims.gui.layout import Element, Screen

# {l}: label. Templates that do not name the kind are used only when the label is unique on screen.
TEMPLATES = {
    "button": ["click the {l} button", "press the {l} button", "tap the {l} button"],
    "menu": ["open the {l} menu", "click {l} in the menu bar"],
    "icon": ["click the {l} icon", "click the {l} icon in the toolbar"],
    "list_item": ["select {l} in the list", "click on the list item {l}"],
    "close": ["close the {l} window", "click the close button of the {l} window"],
}
UNIQUE_TEMPLATES = ["click {l}", 'click on "{l}"']


@dataclass
class GuiTask:
    """What to do: the instruction, the element that must be hit, and text to type (or None)."""

    instruction: str
    target: Element
    text: str | None = None


def make_task(rng: np.random.Generator, screen: Screen) -> GuiTask:
    """Choose a target among the elements of the top window and phrase an instruction for it."""
    top_window = screen.dialog_title or screen.window_title
    candidates = [e for e in screen.elements if e.window == top_window]
    target = candidates[int(rng.integers(len(candidates)))]
    label_count = sum(e.label == target.label for e in screen.elements)
    label = target.label
    if target.kind == "field":
        text = str(rng.choice(vocab.TYPED_TEXT))
        template = str(rng.choice([
            'type "{t}" into the {l} field', 'enter "{t}" in the {l} box', 'fill in {l} with "{t}"',
        ]))
        return GuiTask(template.format(l=label, t=text), target, text)
    if target.kind == "checkbox":
        verb = "uncheck" if target.checked else "check"
        return GuiTask(f'{verb} the "{label}" box', target)
    templates = list(TEMPLATES[target.kind])
    if label_count == 1 and target.kind in ("button", "menu", "list_item"):
        templates += UNIQUE_TEMPLATES
    return GuiTask(str(rng.choice(templates)).format(l=label), target)
