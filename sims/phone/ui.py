"""Draw a phone screen and build its accessibility forest in one pass.

Sizes are in dp (360 dp wide, like a typical Android phone) and drawn at ``width / 360`` pixels per dp.
Three windows, as on a real device: the status bar (system), the app or launcher (application), the
navigation bar (system). Each node carries what a click or long press does in the simulator.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from molmo_agent.sims.fonts import font
from molmo_agent.sims.phone.a11y import Node, Window
from molmo_agent.sims.phone.apps import LIST_CONTENT, PhoneWorld
from molmo_agent.sims.phone.state import Page, PhoneState

STATUS_DP, APPBAR_DP, ROW_DP, NAV_DP = 24, 56, 64, 48
WHITE, TEXT, MUTED, DIVIDER = (255, 255, 255), (30, 30, 30), (110, 110, 110), (225, 225, 225)


def package_of(app: str) -> str:
    return "com.molmo.sims." + app.lower().replace(" ", "")


class PhonePainter:
    """Paints one frame; ``u`` converts dp to pixels."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.scale = width / 360.0
        self.image = Image.new("RGB", (width, height), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def u(self, dp: float) -> int:
        return int(round(dp * self.scale))

    def text(self, xy, text: str, sp: float, color, family: str = "sans", anchor: str = "la") -> None:
        self.draw.text(xy, text, font=font(self.u(sp), family), fill=color, anchor=anchor)

    @property
    def content_top(self) -> int:
        return self.u(STATUS_DP)

    @property
    def content_bottom(self) -> int:
        return self.height - self.u(NAV_DP)


def visible_rows(p: PhonePainter, top: int) -> int:
    return max(1, (p.content_bottom - top) // p.u(ROW_DP))


def list_items(world: PhoneWorld, state: PhoneState, app: str) -> list[str]:
    return [i for i in world.lists[app] if f"{app}/{i}" not in state.deleted]


def _status_bar(p: PhonePainter) -> Window:
    w = Window(1, "system", 2, (0, 0, p.width, p.content_top), "Status bar")
    p.draw.rectangle((0, 0, p.width, p.content_top), fill=(15, 15, 15))
    p.text((p.u(12), p.content_top // 2), "12:30", 12, WHITE, anchor="lm")
    p.text((p.width - p.u(12), p.content_top // 2), "87%", 12, WHITE, anchor="rm")
    root = w.add(None, (0, 0, p.width, p.content_top), "android.widget.FrameLayout", "com.android.systemui")
    w.add(root, (p.u(8), 0, p.u(60), p.content_top), "android.widget.TextView", "com.android.systemui",
          text="12:30", view_id_resource_name="com.android.systemui:id/clock")
    return w


def _nav_bar(p: PhonePainter) -> Window:
    top = p.content_bottom
    w = Window(3, "system", 2, (0, top, p.width, p.height), "Navigation bar")
    p.draw.rectangle((0, top, p.width, p.height), fill=(10, 10, 10))
    root = w.add(None, (0, top, p.width, p.height), "android.widget.FrameLayout", "com.android.systemui")
    third = p.width // 3
    cy, r = (top + p.height) // 2, p.u(9)
    for i, (name, handler) in enumerate((("Back", ("back",)), ("Home", ("home",)), ("Overview", None))):
        cx = third * i + third // 2
        if name == "Back":
            p.draw.polygon([(cx + r, cy - r), (cx + r, cy + r), (cx - r, cy)], outline=WHITE, width=p.u(2))
        elif name == "Home":
            p.draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=WHITE, width=p.u(2))
        else:
            p.draw.rectangle((cx - r, cy - r, cx + r, cy + r), outline=WHITE, width=p.u(2))
        w.add(root, (third * i, top, third * (i + 1), p.height), "android.widget.ImageView", "com.android.systemui",
              content_description=name, view_id_resource_name=f"com.android.systemui:id/{name.lower()}",
              is_clickable=handler is not None, on_click=handler)
    return w


def _app_bar(p: PhonePainter, w: Window, root: Node, page: Page, accent, title: str, back: bool,
             search: bool) -> int:
    top, bottom = p.content_top, p.content_top + p.u(APPBAR_DP)
    pkg = package_of(page.app)
    p.draw.rectangle((0, top, p.width, bottom), fill=accent)
    bar = w.add(root, (0, top, p.width, bottom), "android.widget.LinearLayout", pkg,
                view_id_resource_name=f"{pkg}:id/toolbar")
    x = p.u(16)
    cy = (top + bottom) // 2
    if back:
        s = p.u(8)
        p.draw.line((x + s * 2, cy, x, cy), fill=WHITE, width=p.u(2))
        p.draw.line((x, cy, x + s, cy - s), fill=WHITE, width=p.u(2))
        p.draw.line((x, cy, x + s, cy + s), fill=WHITE, width=p.u(2))
        w.add(bar, (0, top, p.u(56), bottom), "android.widget.ImageButton", pkg, content_description="Navigate up",
              is_clickable=True, on_click=("back",))
        x = p.u(64)
    p.text((x, cy), title, 20, WHITE, "sans-bold", anchor="lm")
    w.add(bar, (x, top, p.width - p.u(56), bottom), "android.widget.TextView", pkg, text=title,
          view_id_resource_name=f"{pkg}:id/title")
    if search:
        cx, r = p.width - p.u(28), p.u(7)
        p.draw.ellipse((cx - r - p.u(2), cy - r - p.u(2), cx + r - p.u(2), cy + r - p.u(2)), outline=WHITE,
                       width=p.u(2))
        p.draw.line((cx + p.u(3), cy + p.u(3), cx + p.u(9), cy + p.u(9)), fill=WHITE, width=p.u(3))
        w.add(bar, (p.width - p.u(56), top, p.width, bottom), "android.widget.ImageButton", pkg,
              content_description="Search", view_id_resource_name=f"{pkg}:id/search", is_clickable=True,
              on_click=("open_search",))
    return bottom


def _rows(p: PhonePainter, w: Window, parent: Node, page: Page, top: int, rows: list[tuple[str, str, tuple]],
          long_press: bool, switches: dict[str, bool] | None = None) -> None:
    """A scrollable list of rows (title, subtitle, click handler) starting at ``page.scroll``."""
    pkg = package_of(page.app)
    n = visible_rows(p, top)
    lst = w.add(parent, (0, top, p.width, p.content_bottom), "androidx.recyclerview.widget.RecyclerView", pkg,
                view_id_resource_name=f"{pkg}:id/list", is_scrollable=len(rows) > n)
    for i, (title, subtitle, handler) in enumerate(rows[page.scroll:page.scroll + n]):
        y0 = top + i * p.u(ROW_DP)
        y1 = y0 + p.u(ROW_DP)
        row = w.add(lst, (0, y0, p.width, y1), "android.view.ViewGroup", pkg, is_clickable=True,
                    is_long_clickable=long_press, on_click=handler,
                    on_long_press=("menu", title) if long_press else None)
        has_switch = switches is not None and title in switches
        ty = y0 + p.u(22) if subtitle else (y0 + y1) // 2
        p.text((p.u(16), ty), title, 16, TEXT, anchor="lm")
        w.add(row, (p.u(16), y0 + p.u(8), p.width - p.u(80), y0 + p.u(36)), "android.widget.TextView", pkg,
              text=title, view_id_resource_name=f"{pkg}:id/title")
        if subtitle:
            p.text((p.u(16), y0 + p.u(46)), subtitle, 13, MUTED, anchor="lm")
            w.add(row, (p.u(16), y0 + p.u(36), p.width - p.u(80), y1 - p.u(6)), "android.widget.TextView", pkg,
                  text=subtitle, view_id_resource_name=f"{pkg}:id/summary")
        if has_switch:
            on = switches[title]
            sx0, sy0 = p.width - p.u(64), (y0 + y1) // 2 - p.u(12)
            sw = (sx0, sy0, sx0 + p.u(44), sy0 + p.u(24))
            p.draw.rounded_rectangle(sw, radius=p.u(12), fill=(30, 120, 230) if on else (190, 190, 190))
            kx = sw[2] - p.u(22) if on else sw[0] + p.u(2)
            p.draw.ellipse((kx, sy0 + p.u(2), kx + p.u(20), sy0 + p.u(22)), fill=WHITE)
            w.add(row, sw, "android.widget.Switch", pkg, text="ON" if on else "OFF", is_checkable=True,
                  is_checked=on, is_clickable=True, on_click=handler,
                  view_id_resource_name=f"{pkg}:id/switch_widget")
        p.draw.line((p.u(16), y1 - 1, p.width, y1 - 1), fill=DIVIDER, width=1)


def _context_menu(p: PhonePainter, w: Window, root: Node, page: Page, pinned: bool) -> None:
    pkg = package_of(page.app)
    scrim = (0, p.content_top, p.width, p.content_bottom)  # the list stays visible, dimmed
    p.image.paste(p.image.crop(scrim).point(lambda v: v // 2), scrim[:2])
    x0, x1 = p.u(40), p.width - p.u(40)
    y0 = p.content_top + p.u(200)
    options = ("Unpin" if pinned else "Pin", "Delete", "Share")
    y1 = y0 + p.u(56) + p.u(48) * len(options)
    p.draw.rounded_rectangle((x0, y0, x1, y1), radius=p.u(8), fill=WHITE)
    menu = w.add(root, (x0, y0, x1, y1), "android.widget.ListView", pkg, view_id_resource_name=f"{pkg}:id/menu")
    p.text((x0 + p.u(20), y0 + p.u(28)), page.menu_item, 16, MUTED, "sans-bold", anchor="lm")
    w.add(menu, (x0, y0, x1, y0 + p.u(56)), "android.widget.TextView", pkg, text=page.menu_item)
    for i, option in enumerate(options):
        oy0 = y0 + p.u(56) + i * p.u(48)
        p.text((x0 + p.u(20), oy0 + p.u(24)), option, 16, TEXT, anchor="lm")
        w.add(menu, (x0, oy0, x1, oy0 + p.u(48)), "android.widget.TextView", pkg, text=option,
              is_clickable=True, on_click=("menu_option", option))


def _home(p: PhonePainter, world: PhoneWorld) -> Window:
    w = Window(2, "application", 1, (0, p.content_top, p.width, p.content_bottom), "Launcher",
               is_active=True, is_focused=True)
    pkg = "com.android.launcher3"
    p.draw.rectangle((0, p.content_top, p.width, p.content_bottom), fill=(34, 64, 96))
    root = w.add(None, w.bounds_in_screen, "android.widget.FrameLayout", pkg)
    grid = w.add(root, w.bounds_in_screen, "android.view.ViewGroup", pkg,
                 view_id_resource_name=f"{pkg}:id/workspace")
    cell_w, cell_h = p.width // 4, p.u(100)
    for i, app in enumerate(world.home_apps):
        cx = (i % 4) * cell_w + cell_w // 2
        y0 = p.content_top + p.u(32) + (i // 4) * cell_h
        r = p.u(24)
        p.draw.ellipse((cx - r, y0, cx + r, y0 + 2 * r), fill=world.accents[app])
        p.text((cx, y0 + r), app[0], 22, WHITE, "sans-bold", anchor="mm")
        p.text((cx, y0 + 2 * r + p.u(14)), app, 12, WHITE, anchor="mm")
        w.add(grid, ((i % 4) * cell_w, y0 - p.u(6), (i % 4 + 1) * cell_w, y0 + 2 * r + p.u(26)),
              "android.widget.TextView", pkg, text=app, content_description=app, is_clickable=True,
              is_long_clickable=True, on_click=("launch", app))
    return w


def _app_window(p: PhonePainter, world: PhoneWorld, state: PhoneState) -> Window:
    page = state.page
    accent = world.accents[page.app]
    pkg = package_of(page.app)
    w = Window(2, "application", 1, (0, p.content_top, p.width, p.content_bottom), page.app,
               is_active=True, is_focused=True)
    root = w.add(None, w.bounds_in_screen, "android.widget.FrameLayout", pkg)
    if state.loading:
        p.draw.rectangle(w.bounds_in_screen, fill=accent)
        cy = (p.content_top + p.content_bottom) // 2
        p.text((p.width // 2, cy - p.u(20)), page.app, 28, WHITE, "sans-bold", anchor="mm")
        p.text((p.width // 2, cy + p.u(24)), "Loading...", 16, WHITE, anchor="mm")
        w.add(root, (0, cy - p.u(40), p.width, cy), "android.widget.TextView", pkg, text=page.app)
        w.add(root, (0, cy + p.u(8), p.width, cy + p.u(40)), "android.widget.ProgressBar", pkg,
              content_description="Loading")
        return w
    if page.kind == "list":
        top = _app_bar(p, w, root, page, accent, page.app, back=False, search=True)
        rows = [(item, ("Pinned" if f"{page.app}/{item}" in state.pinned else ""), ("open_item", item))
                for item in list_items(world, state, page.app)]
        _rows(p, w, root, page, top, rows, long_press=True)
        if page.menu_item is not None:
            _context_menu(p, w, root, page, f"{page.app}/{page.menu_item}" in state.pinned)
    elif page.kind == "detail":
        top = _app_bar(p, w, root, page, accent, page.item, back=True, search=False)
        for i, line in enumerate((f"{page.item}", f"Saved in {page.app}", "Last opened today")):
            y = top + p.u(32) + i * p.u(36)
            p.text((p.u(16), y), line, 22 if i == 0 else 15, TEXT if i == 0 else MUTED, anchor="lm")
            w.add(root, (p.u(16), y - p.u(14), p.width - p.u(16), y + p.u(14)), "android.widget.TextView", pkg,
                  text=line)
    elif page.kind == "search":
        top = _app_bar(p, w, root, page, accent, "", back=True, search=False)
        field = (p.u(64), p.content_top + p.u(10), p.width - p.u(16), p.content_top + p.u(46))
        p.draw.rounded_rectangle(field, radius=p.u(6), fill=WHITE)
        shown = page.query or f"Search {page.app}"
        p.text((field[0] + p.u(10), (field[1] + field[3]) // 2), shown, 16, TEXT if page.query else MUTED,
               anchor="lm")
        w.add(root, field, "android.widget.EditText", pkg, text=page.query, hint_text=f"Search {page.app}",
              is_editable=True, is_focusable=True, is_focused=True, is_clickable=True,
              view_id_resource_name=f"{pkg}:id/search_src_text")
        if page.query:
            q = page.query.lower()
            rows = [(i, "", ("open_item", i)) for i in list_items(world, state, page.app) if q in i.lower()]
            _rows(p, w, root, page, top, rows, long_press=False)
    elif page.kind == "settings":
        top = _app_bar(p, w, root, page, accent, "Settings", back=False, search=False)
        rows = [(c, ", ".join(t[:2]), ("category", c)) for c, t in world.settings.items()]
        _rows(p, w, root, page, top, rows, long_press=False)
    elif page.kind == "settings_page":
        top = _app_bar(p, w, root, page, accent, page.category, back=True, search=False)
        names = world.settings[page.category]
        rows = [(n, "", ("toggle", n)) for n in names]
        _rows(p, w, root, page, top, rows, long_press=False, switches={n: state.toggles[n] for n in names})
    else:  # simple app: a big title, nothing to do
        top = _app_bar(p, w, root, page, accent, page.app, back=False, search=False)
        p.text((p.width // 2, top + p.u(160)), page.app, 30, MUTED, "sans-bold", anchor="mm")
        w.add(root, (0, top + p.u(130), p.width, top + p.u(190)), "android.widget.TextView", pkg, text=page.app)
    return w


def render_frame(world: PhoneWorld, state: PhoneState, width: int, height: int) -> tuple[Image.Image, list[Window]]:
    """Draw the current screen; return the image and its windows (status bar, app, navigation bar)."""
    p = PhonePainter(width, height)
    app = _home(p, world) if state.page is None else _app_window(p, world, state)
    windows = [_status_bar(p), app, _nav_bar(p)]
    return p.image, windows


def root_page(app: str) -> Page:
    if app == "Settings":
        return Page("settings", app)
    if app in LIST_CONTENT:
        return Page("list", app)
    return Page("simple", app)
