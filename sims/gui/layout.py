"""Procedural desktop screens: one application window, sometimes a modal dialog on top.

Everything is laid out in logical pixels and drawn in physical pixels (``scale`` = DPI factor), so a
4K screen at scale 2 shows the same layout as a 1080p screen, twice as sharp. Every interactive
element that stays visible is recorded with its pixel box; that list is the ground truth.

    import numpy as np
    from molmo_agent.sims.gui import generate_screen, SCREEN_PROFILES
    screen = generate_screen(np.random.default_rng(0), SCREEN_PROFILES["laptop"])
    screen.image.size, len(screen.elements)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from molmo_agent.sims import vocab
from molmo_agent.sims.fonts import font
from molmo_agent.sims.gui.icons import ICONS, draw_icon
from molmo_agent.sims.gui.screens import ScreenProfile

PixelBox = tuple[int, int, int, int]
KINDS = ("button", "field", "checkbox", "menu", "list_item", "icon", "close")


@dataclass
class Element:
    """A visible interactive element: ``box`` is (x0, y0, x1, y1) in pixels, end exclusive."""

    kind: str
    label: str
    box: PixelBox
    window: str
    checked: bool | None = None

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.box
        return x0 <= x < x1 and y0 <= y < y1

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "box": list(self.box), "window": self.window,
                "checked": self.checked}


@dataclass
class Screen:
    """A drawn screen and the elements visible on it."""

    image: Image.Image
    profile: ScreenProfile
    elements: list[Element] = field(default_factory=list)
    window_title: str = ""
    dialog_title: str | None = None


@dataclass
class Theme:
    desktop: tuple
    window: tuple
    title_bar: tuple
    title_text: tuple
    text: tuple
    muted: tuple
    field: tuple
    border: tuple
    accent: tuple
    accent_text: tuple
    button: tuple


def _theme(rng: np.random.Generator) -> Theme:
    accent = tuple(int(v) for v in rng.integers(30, 200, 3))
    if rng.random() < 0.7:  # light
        return Theme(
            desktop=tuple(int(v) for v in rng.integers(60, 220, 3)), window=(246, 246, 246),
            title_bar=tuple(max(0, c - 20) for c in accent), title_text=(255, 255, 255), text=(25, 25, 25),
            muted=(110, 110, 110), field=(255, 255, 255), border=(160, 160, 160), accent=accent,
            accent_text=(255, 255, 255), button=(225, 225, 228),
        )
    return Theme(
        desktop=tuple(int(v) for v in rng.integers(10, 90, 3)), window=(40, 41, 46), title_bar=(28, 28, 32),
        title_text=(235, 235, 235), text=(230, 230, 230), muted=(160, 160, 160), field=(25, 25, 28),
        border=(90, 90, 96), accent=accent, accent_text=(255, 255, 255), button=(64, 64, 70),
    )


class _Painter:
    """Draws in physical pixels from logical sizes; collects the elements it draws."""

    def __init__(self, image: Image.Image, scale: float, theme: Theme, window: str):
        self.draw = ImageDraw.Draw(image)
        self.scale = scale
        self.theme = theme
        self.window = window
        self.elements: list[Element] = []

    def u(self, logical: float) -> int:
        return int(round(logical * self.scale))

    def text(self, x: int, y: int, text: str, size: float, color, family: str = "sans") -> PixelBox:
        f = font(self.u(size), family)
        self.draw.text((x, y), text, font=f, fill=color)
        left, top, right, bottom = self.draw.textbbox((x, y), text, font=f)
        return left, top, right, bottom

    def text_width(self, text: str, size: float, family: str = "sans") -> int:
        return int(self.draw.textlength(text, font=font(self.u(size), family)))

    def add(self, kind: str, label: str, box: PixelBox, checked: bool | None = None) -> None:
        self.elements.append(Element(kind, label, tuple(int(v) for v in box), self.window, checked))

    def button(self, x1: int, y: int, label: str, primary: bool) -> int:
        """Draw a button whose right edge is ``x1``; return its left edge."""
        t = self.theme
        w = self.text_width(label, 13) + self.u(32)
        h = self.u(30)
        box = (x1 - w, y, x1, y + h)
        self.draw.rounded_rectangle(box, radius=self.u(4), fill=t.accent if primary else t.button,
                                    outline=t.border, width=max(1, self.u(1)))
        size = self.u(13)
        ty = y + (h - size) // 2 - self.u(1)
        self.text(x1 - w + self.u(16), ty, label, 13, t.accent_text if primary else t.text)
        self.add("button", label, box)
        return x1 - w

    def title_bar(self, box: PixelBox, title: str) -> int:
        """Title bar with the window title and minimise/maximise/close glyphs; returns its bottom."""
        t = self.theme
        x0, y0, x1, _ = box
        h = self.u(32)
        self.draw.rectangle((x0, y0, x1 - 1, y0 + h - 1), fill=t.title_bar)
        self.text(x0 + self.u(12), y0 + self.u(8), title, 13, t.title_text, "sans-bold")
        s = self.u(32)
        close = (x1 - s, y0, x1, y0 + h)
        self.draw.rectangle((close[0], close[1], close[2] - 1, close[3] - 1), fill=(200, 50, 50))
        m = self.u(11)
        lw = max(1, self.u(2))
        self.draw.line((close[0] + m, y0 + m, close[2] - m, close[3] - m), fill=(255, 255, 255), width=lw)
        self.draw.line((close[0] + m, close[3] - m, close[2] - m, y0 + m), fill=(255, 255, 255), width=lw)
        self.add("close", title, close)
        mx = x1 - 2 * s
        self.draw.rectangle((mx + m, y0 + m, mx + s - m, y0 + h - m), outline=t.title_text, width=max(1, self.u(1)))
        nx = x1 - 3 * s
        self.draw.line((nx + m, y0 + h - m, nx + s - m, y0 + h - m), fill=t.title_text, width=lw)
        return y0 + h


def _sample(rng: np.random.Generator, words: tuple[str, ...], n: int, exclude=()) -> list[str]:
    pool = [w for w in words if w not in exclude]
    idx = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in idx]


def _window_rect(rng: np.random.Generator, profile: ScreenProfile, scale: float) -> PixelBox:
    W, H = profile.width, profile.height
    lw, lh = profile.logical_size
    if lw < 600:  # phone: apps are full screen below a status bar
        return 0, int(24 * scale), W, H
    min_w, min_h = min(lw, 520), min(lh - 40, 420)
    w = int(rng.integers(min_w, lw + 1))
    h = int(rng.integers(min_h, lh - 40 + 1))
    x = int(rng.integers(0, lw - w + 1))
    y = int(rng.integers(0, lh - 40 - h + 1))
    return int(x * scale), int(y * scale), int((x + w) * scale), int((y + h) * scale)


def _draw_desktop(draw: ImageDraw.ImageDraw, rng: np.random.Generator, profile: ScreenProfile, theme: Theme) -> None:
    W, H = profile.width, profile.height
    for _ in range(3):  # a soft wallpaper
        c = tuple(int(min(255, max(0, v + d))) for v, d in zip(theme.desktop, rng.integers(-40, 40, 3)))
        cx, cy, r = rng.integers(0, W), rng.integers(0, H), rng.integers(W // 8, W // 2)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    s = profile.scale
    if profile.logical_size[0] >= 600:  # taskbar with a clock
        bar = int(40 * s)
        draw.rectangle((0, H - bar, W, H), fill=(30, 30, 36))
        clock = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
        draw.text((W - int(70 * s), H - int(28 * s)), clock, font=font(int(13 * s)), fill=(230, 230, 230))
    else:  # phone status bar
        draw.rectangle((0, 0, W, int(24 * s)), fill=(20, 20, 20))
        draw.text((int(12 * s), int(4 * s)), "12:30", font=font(int(12 * s)), fill=(240, 240, 240))


def _draw_body(p: _Painter, rng: np.random.Generator, box: PixelBox, top: int, buttons_top: int) -> None:
    """Menu bar, toolbar, form fields, checkboxes and a list inside a window."""
    t, u = p.theme, p.u
    x0, _, x1, _ = box
    # menu bar
    y = top
    p.draw.rectangle((x0, y, x1 - 1, y + u(26) - 1), fill=t.window)
    x = x0 + u(6)
    for name in _sample(rng, vocab.MENUS, int(rng.integers(3, 7))):
        w = p.text_width(name, 13) + u(16)
        if x + w > x1 - u(6):
            break
        p.text(x + u(8), y + u(5), name, 13, t.text)
        p.add("menu", name, (x, y, x + w, y + u(26)))
        x += w
    y += u(26)
    p.draw.line((x0, y, x1, y), fill=t.border, width=max(1, u(1)))
    # toolbar
    x = x0 + u(8)
    for name in _sample(rng, tuple(ICONS), int(rng.integers(3, 8))):
        s = u(30)
        if x + s > x1 - u(8):
            break
        ib = (x, y + u(5), x + s, y + u(5) + s)
        draw_icon(p.draw, name, (ib[0] + u(3), ib[1] + u(3), ib[2] - u(3), ib[3] - u(3)), t.text, u(2))
        p.add("icon", name, ib)
        x += s + u(8)
    y += u(40)
    p.draw.line((x0, y, x1, y), fill=t.border, width=max(1, u(1)))
    y += u(14)
    inner = x1 - x0 - u(32)
    col_w = min(u(320), inner)
    left = x0 + u(16)
    two_columns = inner >= u(600)
    y_left = _draw_form(p, rng, left, y, col_w, buttons_top)
    if two_columns:
        _draw_list(p, rng, left + col_w + u(40), y, min(u(260), x1 - u(16) - (left + col_w + u(40))), buttons_top)
    else:
        _draw_list(p, rng, left, y_left + u(8), col_w, buttons_top)


def _draw_form(p: _Painter, rng: np.random.Generator, x: int, y: int, width: int, bottom: int) -> int:
    t, u = p.theme, p.u
    for label in _sample(rng, vocab.FIELDS, int(rng.integers(1, 5))):
        if y + u(52) > bottom:
            return y
        p.text(x, y, label, 12, t.muted)
        fb = (x, y + u(18), x + width, y + u(46))
        p.draw.rectangle(fb, fill=t.field, outline=t.border, width=max(1, u(1)))
        if rng.random() < 0.3:
            p.text(fb[0] + u(8), fb[1] + u(6), str(rng.choice(vocab.TYPED_TEXT)), 13, t.muted)
        p.add("field", label, fb)
        y += u(56)
    for label in _sample(rng, vocab.CHECKBOXES, int(rng.integers(0, 5))):
        if y + u(26) > bottom:
            return y
        s = u(16)
        cb = (x, y + u(2), x + s, y + u(2) + s)
        checked = bool(rng.random() < 0.5)
        p.draw.rectangle(cb, fill=t.accent if checked else t.field, outline=t.border, width=max(1, u(1)))
        if checked:
            p.draw.line((cb[0] + u(3), cb[1] + u(8), cb[0] + u(7), cb[1] + u(12), cb[2] - u(3), cb[1] + u(4)),
                        fill=(255, 255, 255), width=max(1, u(2)))
        tb = p.text(x + s + u(8), y + u(2), label, 13, t.text)
        # the label is part of the clickable area, as in real toolkits
        p.add("checkbox", label, (cb[0], min(cb[1], tb[1]), tb[2], max(cb[3], tb[3]) + 1), checked)
        y += u(28)
    return y


def _draw_list(p: _Painter, rng: np.random.Generator, x: int, y: int, width: int, bottom: int) -> None:
    t, u = p.theme, p.u
    row = u(26)
    n = min(int(rng.integers(3, 9)), (bottom - y - u(24)) // row)
    if n < 2 or width < u(120):
        return
    p.text(x, y, "Items", 12, t.muted)
    y += u(20)
    p.draw.rectangle((x, y, x + width, y + n * row + u(4)), fill=t.field, outline=t.border, width=max(1, u(1)))
    selected = int(rng.integers(-1, n))
    for i, label in enumerate(_sample(rng, vocab.LIST_ITEMS, n)):
        rb = (x + u(2), y + u(2) + i * row, x + width - u(2), y + u(2) + (i + 1) * row)
        if i == selected:
            p.draw.rectangle(rb, fill=t.accent)
        p.text(rb[0] + u(8), rb[1] + u(5), label, 13, t.accent_text if i == selected else t.text)
        p.add("list_item", label, rb)


def _draw_buttons(p: _Painter, rng: np.random.Generator, right: int, y: int, labels: list[str]) -> None:
    x = right
    for i, label in enumerate(labels):
        x = p.button(x, y, label, primary=(i == 0)) - p.u(10)


def _overlaps(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def generate_screen(rng: np.random.Generator, profile: ScreenProfile, dialog_probability: float = 0.3) -> Screen:
    """Draw one random screen for ``profile`` from ``rng`` (deterministic given the generator state)."""
    theme = _theme(rng)
    image = Image.new("RGB", (profile.width, profile.height), theme.desktop)
    _draw_desktop(ImageDraw.Draw(image), rng, profile, theme)
    title = str(rng.choice(vocab.WINDOW_TITLES))
    box = _window_rect(rng, profile, profile.scale)
    p = _Painter(image, profile.scale, theme, window=title)
    p.draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=theme.window, outline=theme.border)
    top = p.title_bar(box, title)
    buttons = _sample(rng, vocab.BUTTONS, int(rng.integers(2, 5)))
    buttons_top = box[3] - p.u(46)
    _draw_body(p, rng, box, top, buttons_top - p.u(8))
    _draw_buttons(p, rng, box[2] - p.u(14), buttons_top, buttons)
    elements = p.elements
    screen = Screen(image, profile, elements, window_title=title)
    if rng.random() < dialog_probability:
        _add_dialog(screen, rng, theme, exclude_titles={title})
    return screen


def _add_dialog(screen: Screen, rng: np.random.Generator, theme: Theme, exclude_titles: set[str]) -> None:
    profile = screen.profile
    s = profile.scale
    lw, lh = profile.logical_size
    w, h = min(380, lw - 20), 170
    x = int(rng.integers(10, max(11, lw - w - 10)))
    y = int(rng.integers(30, max(31, lh - h - 60)))
    box = (int(x * s), int(y * s), int((x + w) * s), int((y + h) * s))
    title = str(rng.choice([t for t in ("Confirm", "Warning", "Question", "Notice") if t not in exclude_titles]))
    p = _Painter(screen.image, s, theme, window=title)
    shadow = p.u(6)
    p.draw.rectangle((box[0] + shadow, box[1] + shadow, box[2] + shadow, box[3] + shadow), fill=(0, 0, 0))
    p.draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=theme.window, outline=theme.border,
                     width=max(1, p.u(1)))
    top = p.title_bar(box, title)
    p.text(box[0] + p.u(18), top + p.u(22), str(rng.choice(vocab.DIALOG_MESSAGES)), 13, theme.text)
    visible = [e for e in screen.elements if not _overlaps(e.box, box)]
    used = {e.label for e in visible}
    labels = _sample(rng, vocab.BUTTONS, int(rng.integers(2, 4)), exclude=used)
    _draw_buttons(p, rng, box[2] - p.u(14), box[3] - p.u(44), labels)
    screen.elements = visible + p.elements
    screen.dialog_title = title
