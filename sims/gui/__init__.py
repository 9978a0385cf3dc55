"""Desktop-like GUI screens: windows, dialogs, buttons, fields, checkboxes, menus, lists, icons."""

from molmo_agent.sims.gui.env import GuiClickEnv
from molmo_agent.sims.gui.layout import Element, Screen, generate_screen
from molmo_agent.sims.gui.oracle import gui_oracle
from molmo_agent.sims.gui.screens import SCREEN_PROFILES, ScreenProfile

__all__ = ["GuiClickEnv", "Element", "Screen", "generate_screen", "gui_oracle", "SCREEN_PROFILES", "ScreenProfile"]
