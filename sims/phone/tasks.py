"""Multi-step phone tasks: sample a goal (and the starting screen), and check when it is reached."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from molmo_agent.sims.phone.apps import APP_NAMES, LIST_CONTENT, PhoneWorld
from molmo_agent.sims.phone.state import Page, PhoneState
from molmo_agent.sims.phone.ui import list_items, root_page

KINDS = ("open_app", "open_item", "toggle", "search", "pin", "delete", "go_home", "go_back")
_WEIGHTS = np.array([0.15, 0.2, 0.2, 0.15, 0.1, 0.05, 0.075, 0.075])
_ITEM_GOALS = {
    "Contacts": "Show the contact details of {item}",
    "Messages": "Open my conversation with {item}",
    "Notes": "Open my note {item}",
    "Recipes": "Show me the recipe for {item}",
    "Music": "Open the song {item} in Music",
    "Files": "Open the file {item}",
    "Shopping": "Open the product page of {item} in Shopping",
}


@dataclass
class PhoneTask:
    """A goal in words plus its structured form (what the oracle and the success check use)."""

    kind: str
    goal: str
    app: str | None = None
    item: str | None = None
    category: str | None = None
    toggle: str | None = None
    value: bool | None = None
    query: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def sample_task(rng: np.random.Generator, world: PhoneWorld, state: PhoneState) -> PhoneTask:
    """Choose a task and set up ``state`` as its starting screen."""
    kind = KINDS[int(rng.choice(len(KINDS), p=_WEIGHTS / _WEIGHTS.sum()))]
    list_apps = tuple(LIST_CONTENT)
    if rng.random() < 0.3:  # start inside some other app instead of on the home screen
        state.stack = [root_page(_pick(rng, APP_NAMES))]
    if kind == "open_app":
        app = _pick(rng, APP_NAMES)
        if state.app == app:
            state.stack = []
        goal = _pick(rng, ("Open the {a} app", "Launch {a}", "Start the {a} app")).format(a=app)
        return PhoneTask(kind, goal, app=app)
    if kind == "toggle":
        category = _pick(rng, tuple(world.settings))
        toggle = _pick(rng, world.settings[category])
        value = bool(rng.random() < 0.5)
        state.toggles[toggle] = not value
        goal = _pick(rng, ("Turn {v} {t} in Settings", "{V} {t}")).format(
            v="on" if value else "off", V="Enable" if value else "Disable", t=toggle)
        return PhoneTask(kind, goal, app="Settings", category=category, toggle=toggle, value=value)
    app = _pick(rng, list_apps)
    item = _pick(rng, list_items(world, state, app))
    if kind == "open_item":
        return PhoneTask(kind, _ITEM_GOALS[app].format(item=item), app=app, item=item)
    if kind == "search":
        query = item.split()[0].split(".")[0].lower()
        return PhoneTask(kind, f"Search for {query} in {app}", app=app, query=query)
    if kind == "pin":
        return PhoneTask(kind, f"Pin {item} in {app}", app=app, item=item)
    if kind == "delete":
        return PhoneTask(kind, f"Delete {item} from {app}", app=app, item=item)
    if kind == "go_home":
        state.stack = [root_page(app), Page("detail", app, item=item)] if rng.random() < 0.5 else [root_page(app)]
        return PhoneTask(kind, _pick(rng, ("Go to the home screen", "Go back home")), app=app)
    # go_back: from an item's page back to the list
    state.stack = [root_page(app), Page("detail", app, item=item)]
    return PhoneTask(kind, f"Go back to the list in {app}", app=app, item=item)


def is_done(task: PhoneTask, world: PhoneWorld, state: PhoneState) -> bool:
    """True once the state satisfies the task's goal."""
    if task.kind == "go_home":
        return state.page is None
    if task.kind == "toggle":
        return state.toggles[task.toggle] == task.value
    if task.kind == "pin":
        return f"{task.app}/{task.item}" in state.pinned
    if task.kind == "delete":
        return f"{task.app}/{task.item}" in state.deleted
    page = state.page
    if page is None or state.loading or state.app != task.app:
        return False
    if task.kind in ("open_app", "go_back"):
        return len(state.stack) == 1 and page.menu_item is None
    if task.kind == "open_item":
        return page.kind == "detail" and page.item == task.item
    return page.kind == "search" and page.query.lower() == task.query  # search
