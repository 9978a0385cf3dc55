"""Parse the points Molmo-family models write, by grammar (never eval).

Forms understood (``format="auto"`` tries all; ``"molmo"`` = Molmo-1 + legacy, ``"molmo2"`` = coords):

- Molmo-1, percent of the image: ``<point x="61.5" y="40.2" alt="mug">mug</point>`` and
  ``<points x1="10" y1="20" x2="30" y2="40" alt="mugs">mugs</points>`` (any number of points),
  attributes in any order, double, single or no quotes, HTML entities in labels;
- Molmo2, 0-1000 with image indices: ``<points coords="1 1 586 377 2 612 401">cats</points>``
  (groups separated by ``;``, ``,``, ``:`` or tab, each: 1-based image index, then id, x, y triplets);
- legacy: ``Click(61.5, 40.2)`` (percent, AndroidControl) and ``p=123,456`` (0-1000);
- "There are none." and answers without points: an explicit empty result;
- an answer cut off inside a ``<points`` tag (a generation limit reached): its complete points,
  with the cut reported as a problem.

Malformed or out-of-range values are never clamped: strict mode raises ParseError, lenient mode
drops them with a ParseWarning (and lists them in ``ParseResult.problems``).

    import molmo_agent
    molmo_agent.parse_points('<point x="50" y="25" alt="mug">mug</point>', image_size=(640, 480))
    # [Point(x=320.0, y=120.0, image_size=(640, 480), label='mug', source_space=<Space.PCT100: 'pct100'>, ...)]
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from molmo_agent.errors import CoordinateError, ParseError, ParseWarning
from molmo_agent.points import Point
from molmo_agent.spaces import Space, check_image_size, in_range, to_pixels

FORMATS = ("auto", "molmo", "molmo2")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_OPEN_TAG = re.compile(r"<\s*(points?)\b([^<>]*)>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"<\s*/\s*points?\s*>", re.IGNORECASE)
# an answer cut off inside an opening tag (a generation limit reached mid-answer)
_CUT_TAG = re.compile(r"<\s*(points?)\b([^<>]*)$", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([A-Za-z_][\w\-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>/]+))""")
_INDEXED = re.compile(r"([xy])(\d+)$", re.IGNORECASE)
_CLICK = re.compile(r"\bClick\s*\(\s*([^,()]*?)\s*,\s*([^,()]*?)\s*\)", re.IGNORECASE)
_LEGACY_P = re.compile(r"(?<![\w=])p\s*=\s*([+-]?[\d.]+)\s*,\s*([+-]?[\d.]+)")
_NONE = re.compile(r"\bthere\s+(?:are|is)\s+(?:none|no\b)", re.IGNORECASE)


@dataclass
class ParseResult:
    """Everything parsed from one answer: points (pixels), whether the model said there are none,
    and the problems found (malformed or out-of-range values that were dropped)."""

    points: list[Point] = field(default_factory=list)
    said_none: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.points


class _Collector:
    """Builds points and records problems; strict mode raises on the first problem."""

    def __init__(self, sizes: list[tuple[int, int]], strict: bool):
        self.sizes, self.strict = sizes, strict
        self.found: list[tuple[int, Point]] = []
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        if self.strict:
            raise ParseError(message)
        self.problems.append(message)

    def number(self, raw: str | None, what: str) -> float | None:
        raw = (raw or "").strip()
        if not _NUMBER.fullmatch(raw):
            self.problem(f"{what}: {raw!r} is not a number")
            return None
        return float(raw)

    def add(self, position: int, raw_x: str | None, raw_y: str | None, space: Space, label: str,
            image_index: int = 0, extra: dict | None = None) -> None:
        x = self.number(raw_x, f"x of {label!r}")
        y = self.number(raw_y, f"y of {label!r}") if x is not None else None
        if x is None or y is None:
            return
        if not 0 <= image_index < len(self.sizes):
            self.problem(f"point {label!r} refers to image {image_index + 1} but {len(self.sizes)} image size(s) given")
            return
        size = self.sizes[image_index]
        if not in_range(x, y, space, size):
            self.problem(f"point {label!r} at ({x:g}, {y:g}) is outside the {space.value} range")
            return
        try:
            px, py = to_pixels(x, y, space, size)
            point = Point(px, py, size, label, space, image_index, extra or {})
        except CoordinateError as error:  # e.g. rounding past the edge; never clamp
            self.problem(str(error))
            return
        self.found.append((position, point))


def _attributes(raw: str, collector: _Collector) -> dict[str, str] | None:
    """Attributes of one element; None (element dropped) when one appears twice: which one is meant?"""
    attrs: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        name = match.group(1).lower()
        value = next(v for v in match.group(2, 3, 4) if v is not None)
        if name in attrs:
            collector.problem(f"attribute {name!r} appears twice in <{raw.strip()[:60]}>")
            return None
        attrs[name] = html.unescape(value)
    return attrs


def _molmo1_tag(position: int, attrs: dict[str, str], label: str, collector: _Collector) -> None:
    if "x" in attrs or "y" in attrs:
        collector.add(position, attrs.get("x"), attrs.get("y"), Space.PCT100, label)
    indexed: dict[int, dict[str, str]] = {}
    for name, value in attrs.items():
        match = _INDEXED.match(name)
        if match:
            indexed.setdefault(int(match.group(2)), {})[match.group(1).lower()] = value
    if not indexed and "x" not in attrs and "y" not in attrs:
        collector.problem(f"point element {label!r} has no coordinates")
    for index in sorted(indexed):
        pair = indexed[index]
        if "x" not in pair or "y" not in pair:
            collector.problem(f"point {index} of {label!r} lacks its {'y' if 'x' in pair else 'x'} coordinate")
            continue
        collector.add(position, pair["x"], pair["y"], Space.PCT100, label)


def _molmo2_coords(position: int, coords: str, label: str, collector: _Collector) -> None:
    groups = [g for g in re.split(r"[\t;:,]", coords) if g.strip()]
    if not groups:
        collector.problem(f"empty coords for {label!r}")
    for group in groups:
        numbers = group.split()
        if len(numbers) < 4 or (len(numbers) - 1) % 3 or not all(n.isdigit() for n in numbers):
            collector.problem(f"coords group {group.strip()!r} of {label!r} is not 'index id x y [id x y ...]'")
            continue
        image_index = max(int(numbers[0]) - 1, 0)  # Molmo2 numbers images from 1
        for i in range(1, len(numbers), 3):
            object_id, x, y = numbers[i:i + 3]
            collector.add(position, x, y, Space.NORM1000, label, image_index, {"object_id": int(object_id)})


def _cut_tag(cut: re.Match, collector: _Collector) -> None:
    """The complete points of an answer that ends inside a ``<points ...`` tag; the cut-off one, and
    the cut itself, are reported (a lenient parse keeps what is whole)."""
    before = len(collector.found)
    attrs = _attributes(cut.group(2), collector)
    if attrs is not None:
        _molmo1_tag(cut.start(), attrs, attrs.get("alt", ""), collector)
    collector.problem(f"the answer ends inside a <{cut.group(1)}> element (cut off, e.g. by max_new_tokens); "
                      f"kept its {len(collector.found) - before} complete point(s)")


def parse(text: str, image_size: tuple[int, int] | Sequence[tuple[int, int]], format: str = "auto",
          strict: bool = False) -> ParseResult:
    """Parse all points in ``text``; see the module docstring. ``image_size`` is (w, h) or one per image."""
    if not isinstance(text, str):
        raise ParseError(f"model text must be a str, got {type(text).__name__}")
    if format not in FORMATS:
        raise ParseError(f"format must be one of {FORMATS}, got {format!r}")
    if image_size and isinstance(image_size[0], (tuple, list)):
        sizes = [check_image_size(size) for size in image_size]
    else:
        sizes = [check_image_size(image_size)]
    collector = _Collector(sizes, strict)
    covered = []
    for match in _OPEN_TAG.finditer(text):
        attrs = _attributes(match.group(2), collector)
        closing = _CLOSE_TAG.search(text, match.end())
        next_open = _OPEN_TAG.search(text, match.end())
        if closing and not (next_open and next_open.start() < closing.start()):
            inner, end = text[match.end():closing.start()], closing.end()
        else:
            inner, end = "", match.end()
        covered.append((match.start(), end))
        if attrs is None:
            continue
        label = html.unescape(inner).strip() or attrs.get("alt", "")
        if "coords" in attrs:
            if format != "molmo":
                _molmo2_coords(match.start(), attrs["coords"], label, collector)
        elif format != "molmo2":
            _molmo1_tag(match.start(), attrs, label, collector)
    cut = _CUT_TAG.search(text)
    if cut and format != "molmo2":
        _cut_tag(cut, collector)
        covered.append((cut.start(), len(text)))
    if format != "molmo2":
        rest = list(text)
        for start, end in covered:  # legacy forms only outside point elements
            rest[start:end] = " " * (end - start)
        rest_text = "".join(rest)
        for match in _CLICK.finditer(rest_text):
            collector.add(match.start(), match.group(1), match.group(2), Space.PCT100, "click")
        for match in _LEGACY_P.finditer(rest_text):
            collector.add(match.start(), match.group(1), match.group(2), Space.NORM1000, "")
    for problem in collector.problems:
        warnings.warn(f"dropped a point: {problem}", ParseWarning, stacklevel=3)
    points = [point for _, point in sorted(collector.found, key=lambda item: item[0])]
    return ParseResult(points, said_none=bool(_NONE.search(text)) and not points, problems=collector.problems)


def parse_points(text: str, image_size: tuple[int, int] | Sequence[tuple[int, int]], format: str = "auto",
                 strict: bool = False) -> list[Point]:
    """The points in ``text`` in pixels of ``image_size``; [] when there are none. See :func:`parse`.

        parse_points('<points x1="10" y1="10" x2="90" y2="90" alt="cats">cats</points>', (200, 100))
        # two points: (20, 10) and (180, 90)
    """
    return parse(text, image_size, format=format, strict=strict).points
