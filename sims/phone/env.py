"""``molmo_agent/PhoneControl-v0``: multi-step tasks on an Android-like phone, AndroidControl actions.

Observation: ``{"image": HxWx3 uint8, "instruction": goal}``. Actions follow AndroidControl's schema
(``click``/``long_press`` with x, y in pixels, ``scroll`` up/down/left/right, ``input_text``,
``open_app``, ``navigate_home``, ``navigate_back``, ``wait``), either as AndroidControl JSON dicts
or in the Gymnasium space form. ``info["accessibility_forest"]`` is the screen's accessibility tree.
Reward 1 and ``terminated`` when the goal is reached; ``truncated`` after ``max_steps``.

``scroll`` "down" reveals content further down the list (the content moves up).

    import gymnasium as gym
    import molmo_agent.sims
    from molmo_agent.sims.phone import phone_oracle
    env = gym.make("molmo_agent/PhoneControl-v0")
    obs, info = env.reset(seed=1_000_000)
    while True:
        action, step_instruction = phone_oracle(info)
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from molmo_agent.sims.errors import ResetNeeded, SimsConfigError
from molmo_agent.sims.phone.actions import ACTION_TYPES, DIRECTIONS, to_android_action
from molmo_agent.sims.phone.apps import APP_NAMES, make_world
from molmo_agent.sims.phone.state import Page, PhoneState
from molmo_agent.sims.phone.tasks import is_done, sample_task
from molmo_agent.sims.phone.ui import list_items, render_frame, root_page, visible_rows
from molmo_agent.sims.spaces import image_space, text_space


class PhoneControlEnv(gym.Env):
    """Android-like phone with AndroidControl actions (see the module docstring for an example)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, width: int = 540, height: int = 1200, max_steps: int = 30,
                 render_mode: str | None = "rgb_array"):
        if not (180 <= width <= 2160 and 360 <= height <= 4800 and height > width):
            raise SimsConfigError(f"phone screen {width}x{height}: need portrait, 180..2160 wide, 360..4800 tall")
        self.width, self.height, self.max_steps = int(width), int(height), int(max_steps)
        self.render_mode = render_mode
        self.observation_space = spaces.Dict({"image": image_space(height, width), "instruction": text_space()})
        self.action_space = spaces.Dict({
            "action_type": spaces.Discrete(len(ACTION_TYPES)),
            "point": spaces.Box(np.zeros(2, np.float32), np.array([width - 1, height - 1], np.float32), dtype=np.float32),
            "direction": spaces.Discrete(len(DIRECTIONS)),
            "text": text_space(64),
            "app_name": text_space(32),
        })
        self._world = self._state = self._task = None
        self._image: np.ndarray | None = None
        self._windows: list = []
        self._steps = 0
        self._done = True

    # -- Gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        self._world = make_world(rng)
        toggles = {t: bool(rng.random() < 0.5) for names in self._world.settings.values() for t in names}
        self._state = PhoneState(toggles=toggles)
        self._task = sample_task(rng, self._world, self._state)
        self._steps, self._done = 0, False
        self._draw()
        return self._observation(), self._info()

    def step(self, action):
        if self._done:
            raise ResetNeeded("call reset() before step(); this episode has ended")
        android_action = to_android_action(action)
        self._apply(android_action)
        self._steps += 1
        self._draw()
        success = is_done(self._task, self._world, self._state)
        truncated = not success and self._steps >= self.max_steps
        self._done = success or truncated
        info = self._info()
        info.update(action=android_action, success=success)
        return self._observation(), float(success), success, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array" and self._image is not None:
            return self._image.copy()
        return None

    # -- transitions -------------------------------------------------------------------------------
    def _apply(self, a: dict) -> None:
        s, kind = self._state, a["action_type"]
        if kind == "navigate_home":
            s.stack, s.loading = [], False
        elif kind == "open_app":
            name = next((n for n in APP_NAMES if n.lower() == a["app_name"].strip().lower()), None)
            if name is not None:
                self._launch(name)
        elif kind == "navigate_back":
            self._back()
        elif s.loading:
            if kind == "wait":
                s.loading = False
        elif kind in ("click", "long_press"):
            self._touch(a["x"], a["y"], long=kind == "long_press")
        elif kind == "scroll":
            self._scroll(a["direction"])
        elif kind == "input_text":
            page = s.page
            if page is not None and page.kind == "search":
                page.query, page.scroll = a["text"], 0

    def _launch(self, app: str) -> None:
        self._state.stack = [root_page(app)]
        self._state.loading = app in self._world.slow_apps

    def _back(self) -> None:
        s = self._state
        s.loading = False
        if s.page is not None and s.page.menu_item is not None:
            s.page.menu_item = None
        elif len(s.stack) > 1:
            s.stack.pop()
        else:
            s.stack = []

    def _touch(self, x: int, y: int, long: bool) -> None:
        for window in sorted(self._windows, key=lambda w: -w.layer):
            for node in reversed(window.nodes):
                handler = node.on_long_press if long else node.on_click
                if handler is not None and node.contains(x, y):
                    self._handle(handler)
                    return
        page = self._state.page
        if page is not None and page.menu_item is not None and not long:
            page.menu_item = None  # a tap outside a popup menu dismisses it

    def _handle(self, handler: tuple) -> None:
        s, page = self._state, self._state.page
        name, arg = handler[0], (handler[1] if len(handler) > 1 else None)
        if page is not None and page.menu_item is not None and name not in ("menu_option", "back", "home"):
            page.menu_item = None  # the scrim swallows taps outside the menu
            return
        if name == "back":
            self._back()
        elif name == "home":
            s.stack, s.loading = [], False
        elif name == "launch":
            self._launch(arg)
        elif name == "open_item":
            s.stack.append(Page("detail", page.app, item=arg))
        elif name == "open_search":
            s.stack.append(Page("search", page.app))
        elif name == "category":
            s.stack.append(Page("settings_page", page.app, category=arg))
        elif name == "toggle":
            s.toggles[arg] = not s.toggles[arg]
        elif name == "menu":
            page.menu_item = arg
        elif name == "menu_option":
            key = f"{page.app}/{page.menu_item}"
            if arg == "Pin":
                s.pinned.add(key)
            elif arg == "Unpin":
                s.pinned.discard(key)
            elif arg == "Delete":
                s.deleted.add(key)
            page.menu_item = None

    def _scroll(self, direction: str) -> None:
        page = self._state.page
        if page is None or page.menu_item is not None or page.kind not in ("list", "search"):
            return
        items = list_items(self._world, self._state, page.app)
        if page.kind == "search":
            items = [i for i in items if page.query and page.query.lower() in i.lower()]
        scale = self.width / 360.0
        top = int(round(24 * scale)) + int(round(56 * scale))
        n = visible_rows(_Geometry(self.height, scale), top)
        step = max(1, n - 1)
        last = max(0, len(items) - n)
        if direction == "down":
            page.scroll = min(last, page.scroll + step)
        elif direction == "up":
            page.scroll = max(0, page.scroll - step)

    # -- observation and ground truth --------------------------------------------------------------
    def _draw(self) -> None:
        image, self._windows = render_frame(self._world, self._state, self.width, self.height)
        self._image = np.asarray(image, dtype=np.uint8)

    def _observation(self) -> dict:
        return {"image": self._image.copy(), "instruction": self._task.goal}

    def _info(self) -> dict:
        s, page = self._state, self._state.page
        ui = {"app": s.app, "page": None if page is None else page.kind, "loading": s.loading,
              "menu_item": None if page is None else page.menu_item,
              "category": None if page is None else page.category,
              "item": None if page is None else page.item, "query": None if page is None else page.query}
        return {
            "goal": self._task.goal,
            "task": self._task.to_dict(),
            "ui": ui,
            "accessibility_forest": [w.to_dict() for w in self._windows],
            "screen_size": (self.width, self.height),
            "step": self._steps,
        }


class _Geometry:
    """The bits of the painter's geometry that scrolling needs, without drawing."""

    def __init__(self, height: int, scale: float):
        self.scale = scale
        self.content_bottom = height - int(round(48 * scale))

    def u(self, dp: float) -> int:
        return int(round(dp * self.scale))

