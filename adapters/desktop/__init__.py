"""molmo_agent.adapters.desktop: grounded clicks on the real screen (pyautogui + mss, extra ``desktop``).

    from molmo_agent.adapters.desktop import Desktop
    Desktop(grounder).click("the Save button")

pyautogui is imported only when an action is executed (it needs a display at import time).
"""

from molmo_agent.adapters.desktop.desktop import Desktop, DesktopStep
from molmo_agent.adapters.desktop.hotkey import DEFAULT_KILL_HOTKEY, KillHotkey
from molmo_agent.adapters.desktop.screen import ScreenCapture

__all__ = ["DEFAULT_KILL_HOTKEY", "Desktop", "DesktopStep", "KillHotkey", "ScreenCapture"]
