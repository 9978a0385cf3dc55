"""Mutable phone state: the page stack of the open app, loading, toggles, pinned and deleted items."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Page:
    """One screen of an app. ``kind``: list, detail, search, settings, settings_page, simple, loading."""

    kind: str
    app: str
    scroll: int = 0
    item: str | None = None
    category: str | None = None
    query: str = ""
    menu_item: str | None = None


@dataclass
class PhoneState:
    """The phone: an empty stack means the home screen.

        state = PhoneState(stack=[Page("list", "Notes")])
        state.app, state.page.kind   # ('Notes', 'list')
    """

    stack: list[Page] = field(default_factory=list)
    loading: bool = False
    toggles: dict[str, bool] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

    @property
    def app(self) -> str | None:
        return self.stack[0].app if self.stack else None

    @property
    def page(self) -> Page | None:
        return self.stack[-1] if self.stack else None
