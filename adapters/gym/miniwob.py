"""MiniWoB++ (the ``miniwob`` package) in Debian's chromium, offline, through the Gymnasium adapter.

``make_miniwob_env`` points miniwob at /usr/bin/chromium (via a small wrapper that adds the
offline/headless flags: no background networking, no component updates, no sync, no first-run)
and /usr/bin/chromedriver, so Selenium Manager never goes to the network.
``miniwob_click_converter`` converts a point in the screenshot to a ``CLICK_COORDS`` action
(MiniWoB's coords are CSS pixels of the task area, which the screenshot shows 1:1).

    env = make_miniwob_env("miniwob/click-button-v1")
    policy = GroundingPolicy(grounder, miniwob_click_converter(env), "screenshot", "utterance")
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from molmo_agent.adapters.errors import AdapterError
from molmo_agent.adapters.gym.action_spaces import BoxPointAction, DictPointAction

CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--disable-dev-shm-usage")


def _chromium_wrapper(chromium: str) -> str:
    directory = Path(tempfile.gettempdir()) / f"molmo-agent-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    wrapper = directory / "chromium-offline"
    script = f'#!/bin/sh\nexec "{chromium}" {" ".join(CHROMIUM_FLAGS)} "$@"\n'
    if not wrapper.exists() or wrapper.read_text() != script:
        tmp = wrapper.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(stat.S_IRWXU)
        os.replace(tmp, wrapper)
    return str(wrapper)


def configure_browser() -> None:
    """Point miniwob at the system chromium + chromedriver (offline), unless the user already did."""
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    if os.environ.get("MINIWOB_CHROME_BINARY") and os.environ.get("MINIWOB_CHROMEDRIVER"):
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        raise AdapterError("MiniWoB++ needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    os.environ["MINIWOB_CHROME_BINARY"] = _chromium_wrapper(chromium)
    os.environ["MINIWOB_CHROMEDRIVER"] = driver


def make_miniwob_env(env_id: str, **kwargs: Any):
    """``gym.make`` of a MiniWoB++ task (e.g. ``miniwob/click-test-v1``) in headless chromium."""
    import gymnasium as gym
    import miniwob

    configure_browser()
    gym.register_envs(miniwob)
    return gym.make(env_id, **kwargs)


def miniwob_click_converter(env: Any) -> DictPointAction:
    """Point in the screenshot -> MiniWoB ``CLICK_COORDS`` action (other fields filled by the env)."""
    from miniwob.action import ActionTypes

    base = env.unwrapped
    return DictPointAction(base.action_space, key="coords", inner=BoxPointAction(base.action_space["coords"]),
                           fill=lambda coords: base.create_action(ActionTypes.CLICK_COORDS, coords=coords))
