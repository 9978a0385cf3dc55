"""A global kill hotkey for the desktop adapter: a background listener on the display (pynput).

Pressing the combination anywhere on the desktop (in whichever window has the focus) calls
``on_press``; the Desktop passes a function that stops its safety policy, so every later action
is refused. On X11 pynput listens through the RECORD extension, which observes the keyboard
without grabbing it: the key also reaches the focused window, and no other program's grab can
make the hotkey fail. Xvfb and Xorg offer RECORD by default.

    hotkey = KillHotkey("ctrl+alt+q", on_press=lambda: policy.stop("kill hotkey"))
    hotkey.start()
    ...
    if hotkey.pressed.is_set(): ...
    hotkey.close()
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable

from molmo_agent.adapters.desktop.screen import ensure_display
from molmo_agent.adapters.errors import AdapterError, DisplayError

DEFAULT_KILL_HOTKEY = "ctrl+alt+q"


def pynput_combo(combo: str) -> str:
    """``"ctrl+alt+q"`` -> ``"<ctrl>+<alt>+q"``: named keys in angle brackets, single characters as they are.

    Names are pynput's (``ctrl``, ``alt``, ``shift``, ``cmd``, ``f1``..``f20``, ``esc``, ...);
    ``<ctrl>+<alt>+q`` (pynput's own syntax) is accepted as well.
    """
    parts = [part.strip().strip("<>").lower() for part in str(combo).split("+")]
    if not combo or any(not part for part in parts):
        raise AdapterError(f"kill hotkey must look like 'ctrl+alt+q', got {combo!r}")
    return "+".join(part if len(part) == 1 else f"<{part}>" for part in parts)


def require_record_extension(display_name: str | None = None) -> None:
    """Refuse clearly when the X server lacks RECORD (pynput's listener would hang without it)."""
    from Xlib import display as xdisplay
    from Xlib.error import DisplayError as XlibDisplayError

    name = display_name or os.environ.get("DISPLAY")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # python-xlib's xauth warning goes to stdout
            connection = xdisplay.Display(name)
    except (XlibDisplayError, OSError) as error:
        raise DisplayError(f"cannot open the display {name!r} for the kill hotkey: {error}") from None
    try:
        if not connection.has_extension("RECORD"):
            raise DisplayError(f"the X server on {name!r} has no RECORD extension, which the kill hotkey "
                               "listens through; start Xvfb with `+extension RECORD`, or pass kill_hotkey=None "
                               "(CLI: --kill-hotkey none) and use the stop file / fail-safe corner")
    finally:
        connection.close()


class KillHotkey:
    """Calls ``on_press`` (from the listener thread) each time ``combo`` is pressed; see the module docstring.

    ``pressed`` is a ``threading.Event`` set on the first press, for code that wants to wait for it.

        with KillHotkey("ctrl+alt+q", on_press=lambda: print("stop!")) as hotkey:
            hotkey.pressed.wait(timeout=60)
    """

    def __init__(self, combo: str = DEFAULT_KILL_HOTKEY, on_press: Callable[[], None] | None = None,
                 start_timeout_s: float = 10.0):
        self.combo = combo
        self._pynput_combo = pynput_combo(combo)
        self.on_press = on_press
        self.start_timeout_s = start_timeout_s
        self.pressed = threading.Event()
        self._listener = None

    def start(self) -> KillHotkey:
        """Start listening; returns once the listener is connected to the display."""
        if self._listener is not None:
            return self
        keyboard = _import_pynput_keyboard()
        try:
            keyboard.HotKey.parse(self._pynput_combo)
        except ValueError as error:
            raise AdapterError(f"kill hotkey {self.combo!r} is not a key combination pynput knows: {error}") from None
        if sys.platform.startswith("linux"):
            require_record_extension()
        listener = keyboard.GlobalHotKeys({self._pynput_combo: self._fire})
        # The listener opens its display connections (which print an xauth warning on stdout) before
        # it reports ready; the main thread is blocked meanwhile, so swapping stdout here is safe.
        with contextlib.redirect_stdout(sys.stderr):
            listener.start()
            ready = threading.Thread(target=listener.wait, daemon=True)
            ready.start()
            ready.join(self.start_timeout_s)
        if ready.is_alive():
            listener.stop()
            raise DisplayError(f"the kill hotkey listener did not start within {self.start_timeout_s:g} s")
        self._listener = listener
        return self

    def _fire(self) -> None:
        self.pressed.set()
        if self.on_press is not None:
            self.on_press()

    @property
    def running(self) -> bool:
        return self._listener is not None and self._listener.running

    def close(self) -> None:
        """Stop listening (idempotent)."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def __enter__(self) -> KillHotkey:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def _import_pynput_keyboard():
    """Import pynput lazily: it picks its backend and connects to the display at import time."""
    ensure_display()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            from pynput import keyboard
    except ModuleNotFoundError:
        raise AdapterError("the kill hotkey needs pynput: pip install 'molmo-agent[desktop]' "
                           "(or pass kill_hotkey=None / --kill-hotkey none)") from None
    except ImportError as error:  # pynput reports an unusable display as an ImportError
        raise DisplayError(f"cannot listen for the kill hotkey on {os.environ.get('DISPLAY')!r}: {error}") from None
    return keyboard
