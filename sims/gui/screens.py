"""Screen profiles from phone to 4K: pixel size plus the declared DPI scale.

The DPI scale is what the operating system would report: one logical pixel is ``scale`` physical
pixels, so widgets and fonts grow with it and a 4K screen at scale 2 lays out like 1920x1080.
"""

from __future__ import annotations

from dataclasses import dataclass

from molmo_agent.sims.errors import SimsConfigError


@dataclass(frozen=True)
class ScreenProfile:
    """A screen: physical pixel size and the DPI scale factor.

        >>> SCREEN_PROFILES["4k"].logical_size
        (1920, 1080)
    """

    name: str
    width: int
    height: int
    scale: float

    @property
    def logical_size(self) -> tuple[int, int]:
        return round(self.width / self.scale), round(self.height / self.scale)


SCREEN_PROFILES = {
    p.name: p
    for p in (
        ScreenProfile("phone", 720, 1560, 2.0),
        ScreenProfile("tablet", 1536, 1152, 1.5),
        ScreenProfile("laptop", 1280, 800, 1.0),
        ScreenProfile("desktop", 1920, 1080, 1.0),
        ScreenProfile("qhd", 2560, 1440, 1.25),
        ScreenProfile("4k", 3840, 2160, 2.0),
    )
}
DEFAULT_PROFILE = "laptop"


def get_profile(screen: str | ScreenProfile) -> ScreenProfile:
    if isinstance(screen, ScreenProfile):
        if screen.width < 64 or screen.height < 64 or not 0.5 <= screen.scale <= 4:
            raise SimsConfigError(f"screen {screen} is too small or has a scale outside [0.5, 4]")
        return screen
    if screen not in SCREEN_PROFILES:
        raise SimsConfigError(f"unknown screen {screen!r}; choose one of {sorted(SCREEN_PROFILES)}")
    return SCREEN_PROFILES[screen]
