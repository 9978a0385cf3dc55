"""The Grounder: asks a backend where things are and what to do, and parses the answer.

    from molmo_agent import Grounder, LocalMolmoBackend
    grounder = Grounder(LocalMolmoBackend.from_pretrained("path/to/Molmo-7B-D-0924"))
    grounder.point(image, "the Save button")      # Point in pixels of image, or None
    grounder.points(image, "every mug")           # list[Point]
    grounder.count(image, "mugs").count           # counting by pointing, as in the Molmo paper
    grounder.act(screenshot, "open the settings").action   # AndroidControl-style Action, frame="image"

    # large screens: refine each point by asking again on a 240 px window around it (molmo_agent.zoom)
    Grounder(backend, zoom_window=240).point(screenshot_4k, "the Save button")
    # ... on five windows around it (one batch), keeping the place most answers agree on
    Grounder(backend, zoom_window=240, zoom_votes=5).point(screenshot_4k, "the Save button")
    # counting on a 4x4 grid of overlapping tiles (one batch); a thing counts where most tiles showing it found it
    Grounder(backend, count_tiles=True).count(shelf_photo, "bottles").count

Every method also has a ``*_result`` form (``ground``, ``count``, ``act``) that returns the prompt,
the raw model text and the time taken, for logs and debugging.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Any

from molmo_agent.actions import (
    Action,
    Click,
    LongPress,
    NavigateBack,
    NavigateHome,
    OpenApp,
    Scroll,
    TypeText,
    Wait,
)
from molmo_agent.backends import Backend, GenerationRequest
from molmo_agent.errors import ActionError, ParseError, UnknownActionError
from molmo_agent.images import as_image
from molmo_agent.parsing import parse
from molmo_agent.points import Point
from molmo_agent.spaces import Space, in_range, to_pixels
from molmo_agent.zoom import (
    REFINE_MAX_RATIO,
    TILE_MARGIN_PERCENT,
    TILE_MERGE_PERCENT,
    PixelBox,
    check_votes,
    check_window,
    consensus_point,
    point_from_window,
    search_boxes,
    tile_grid,
    tile_votes,
    vote_boxes,
    zoom_box,
)


@dataclass
class Grounding:
    """One grounding query: the points found, and what was asked and answered.

    After a zoom step (``Grounder(zoom_window=...)``) ``points`` and ``text`` are the second answer's,
    ``zoom_box`` is the window it was asked on (pixels of the whole image), ``first_points`` and
    ``first_text`` the first answer's, and ``seconds`` covers both queries; after a zoom search
    ``searched`` is the number of windows it asked (``zoom_box`` the one whose answer was kept);
    after a zoom step with votes ``zoom_votes`` is the number of window answers that agreed on the
    first point (``zoom_box`` is the centred window); after the zoom step's finer level
    (``Grounder(zoom_refine=...)``) ``points`` and ``text`` are its answer's, ``refine_box`` its centred
    window and ``refine_votes`` the number of its window answers that agreed. Asked on tiles
    (``Grounder(count_tiles=True)``), ``tiles`` are the boxes asked and ``text`` their answers, one a line."""

    points: list[Point]
    prompt: str
    text: str
    seconds: float
    said_none: bool = False
    problems: list[str] = field(default_factory=list)
    zoom_box: PixelBox | None = None
    first_points: list[Point] = field(default_factory=list)
    first_text: str = ""
    searched: int = 0
    zoom_votes: int = 0
    refine_box: PixelBox | None = None
    refine_votes: int = 0
    tiles: list[PixelBox] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.points)


@dataclass
class ActResult:
    """One AndroidControl-style step: the action (``frame="image"``), the model's plan, its raw text;
    after a zoom step (``act(..., zoom=True)``) also the window and the first answer."""

    action: Action
    plan: str
    prompt: str
    text: str
    seconds: float
    zoom_box: PixelBox | None = None
    first_text: str = ""


_ACTION_PART = re.compile(r"Action\s*:\s*(.*)\Z", re.IGNORECASE | re.DOTALL)
_PLAN_PART = re.compile(r"Plan\s*:\s*(.*?)(?:\bAction\s*:|\Z)", re.IGNORECASE | re.DOTALL)
_COORD_ACTION = re.compile(r"(click|long\s*press)\s*\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)\s*\.?\s*\Z", re.IGNORECASE)
_WORD_ACTIONS = [
    (re.compile(r"(?:type|input\s*text)\s*:?\s*(.*)\Z", re.IGNORECASE | re.DOTALL), "type"),
    (re.compile(r"scroll\s*:?\s*(up|down|left|right)\s*\.?\s*\Z", re.IGNORECASE), "scroll"),
    (re.compile(r"open\s*app\s*:?\s*(.+?)\s*\.?\s*\Z", re.IGNORECASE | re.DOTALL), "open_app"),
    (re.compile(r"navigate\s*home\s*\.?\s*\Z", re.IGNORECASE), "navigate_home"),
    (re.compile(r"navigate\s*back\s*\.?\s*\Z", re.IGNORECASE), "navigate_back"),
    (re.compile(r"wait\s*\.?\s*\Z", re.IGNORECASE), "wait"),
]


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_android_action(text: str, image_size: tuple[int, int]) -> tuple[Action, str]:
    """Parse Molmo's AndroidControl answer ``Plan: ... Action: <action>`` into (Action, plan).

    Click / Long Press coordinates are percent of the screenshot and come back in its pixels
    (``frame="image"``). An action the schema does not know raises UnknownActionError; bad
    coordinates raise ParseError. Nothing is guessed.

        parse_android_action("Plan: open it. Action: Click(50.0, 10.0)", (1080, 2400))
        # (Click(x=540.0, y=240.0, frame='image', ...), 'open it.')
    """
    if not isinstance(text, str):
        raise ParseError(f"model text must be a str, got {type(text).__name__}")
    plan_match = _PLAN_PART.search(text)
    plan = plan_match.group(1).strip() if plan_match else ""
    action_match = _ACTION_PART.search(text)
    body = (action_match.group(1) if action_match else text).strip()
    coord = _COORD_ACTION.match(body)
    if coord:
        kind, raw_x, raw_y = coord.groups()
        try:
            x, y = float(raw_x), float(raw_y)
        except ValueError:
            raise ParseError(f"coordinates of {body!r} are not numbers") from None
        if not in_range(x, y, Space.PCT100, image_size):
            raise ParseError(f"{body!r}: ({x:g}, {y:g}) is outside 0-100 % of the screenshot")
        px, py = to_pixels(x, y, Space.PCT100, image_size)
        cls = Click if kind.lower() == "click" else LongPress
        return cls(px, py, frame="image"), plan
    for pattern, kind in _WORD_ACTIONS:
        match = pattern.match(body)
        if not match:
            continue
        try:
            if kind == "type":
                return TypeText(_unquote(match.group(1))), plan
            if kind == "scroll":
                return Scroll(match.group(1).lower()), plan
            if kind == "open_app":
                return OpenApp(_unquote(match.group(1))), plan
        except ActionError as error:
            raise ParseError(f"bad {kind} action {body!r}: {error}") from None
        return {"navigate_home": NavigateHome, "navigate_back": NavigateBack, "wait": Wait}[kind](), plan
    raise UnknownActionError(f"the model answered an action outside the AndroidControl schema: {body[:120]!r}")


def pick_search_point(found: list[tuple[Point, Any]], window: int) -> tuple[Point, Any]:
    """The zoom search's answer among ``found`` (point in the whole image, with what came with it):
    the one with the most other points within a quarter ``window`` (windows that overlap see the
    same thing), ties going to the point furthest inside its own window (a thing at a window's edge
    may be cut off)."""
    def votes(point: Point) -> int:
        return sum(abs(point.x - other.x) <= window / 4 and abs(point.y - other.y) <= window / 4 for other, _ in found)

    def inside(point: Point) -> float:
        left, top, right, bottom = point.extra["zoom_box"]
        return min(point.x - left, right - point.x, point.y - top, bottom - point.y)

    return max(found, key=lambda item: (votes(item[0]), inside(item[0])))


class Grounder:
    """Grounding queries against any :class:`~molmo_agent.backends.Backend`.

    Prompts follow Molmo's training data: ``"Point to {query}."`` for pointing, ``"Point to all
    {query}."`` for counting by pointing, ``"low_level: {instruction}"`` / ``"high_level: {goal}"``
    for AndroidControl-style acting.

        grounder = Grounder(backend, strict=True)   # strict: malformed points raise ParseError

    ``zoom_window`` (pixels) turns on the zoom step for pointing (``ground``, ``point``, ``points``):
    the first point is refined by the same question on a square window of that size around it, or of
    half the image's side on smaller images (:func:`molmo_agent.zoom.window_for`). Counting and
    ``ground_many`` ask once. With ``zoom_search`` a window that answers "There are none." (the
    first point was on the wrong thing) starts a search: the question is asked on every window of
    a grid over the image (:func:`molmo_agent.zoom.search_boxes`) and the point most windows agree
    on is kept (:func:`pick_search_point`); if none answers with a point, the first answer stands.
    ``zoom_votes`` > 1 asks the zoom step on that many windows, the centred one and ones shifted
    around it (:func:`molmo_agent.zoom.vote_boxes`, one batch), and keeps the place most answers
    agree on (:func:`molmo_agent.zoom.consensus_point`); the centred window's answer decides whether
    the search starts. ``zoom_refine`` (pixels) adds a finer level after the zoom step: the same
    question on a window of that size around its point (with the same votes), for a model trained
    to read at nearly the screen's own scale; it runs only where that window is under
    ``REFINE_MAX_RATIO`` of the zoom window actually cut (a 1280x800 screen: 128 under 240; a 320x240
    camera frame, whose zoom window is 120 px, gets none), and a window that gives no point keeps
    the zoom step's answer. ``count_tiles`` makes ``count`` ask a 4x4 grid of overlapping tiles of the
    image (:func:`molmo_agent.zoom.tile_grid`, one batch) and keep the things most of the tiles that
    show them found (:meth:`ground_tiled`), for a model trained to say "There are none." on a tile
    without the thing.
    """

    def __init__(self, backend: Backend, point_prompt: str = "Point to {query}.",
                 count_prompt: str = "Point to all {query}.", strict: bool = False,
                 max_new_tokens: int | None = None, zoom_window: int | None = None, zoom_search: bool = False,
                 zoom_votes: int = 1, zoom_refine: int | None = None, count_tiles: bool = False):
        self.backend, self.point_prompt, self.count_prompt = backend, point_prompt, count_prompt
        self.strict, self.max_new_tokens, self.zoom_search = strict, max_new_tokens, zoom_search
        # a bad window or vote count fails here, not at the first query
        self.zoom_window = None if zoom_window is None else check_window(zoom_window)
        self.zoom_votes = check_votes(zoom_votes)
        self.zoom_refine = None if zoom_refine is None else check_window(zoom_refine)
        self.count_tiles = bool(count_tiles)

    def _ask(self, image: Any, prompt: str) -> tuple[Any, str, float]:
        image = as_image(image)
        start = time.perf_counter()
        text = self.backend.generate([image], prompt, self.max_new_tokens)
        return image, text, time.perf_counter() - start

    def ground(self, image: Any, query: str, prompt_template: str | None = None, zoom: bool = True) -> Grounding:
        """Ask for ``query`` and parse every point in the answer (pixels of ``image``); with
        ``zoom_window`` set (and ``zoom``), refine the first point on a window around it."""
        prompt = (prompt_template or self.point_prompt).format(query=query)
        image, text, seconds = self._ask(image, prompt)
        result = parse(text, image.size, strict=self.strict)
        first = Grounding(result.points, prompt, text, seconds, result.said_none, result.problems)
        if not (zoom and self.zoom_window and first.points):
            return first
        return self._refine(image, self._zoom(image, first))

    def _ask_windows(self, image: Any, boxes: list[PixelBox], prompt: str, timed: Grounding | ActResult) -> list[str]:
        """``prompt`` asked on each window of ``boxes``: one query for one window, else one batch; the
        time taken is added to ``timed.seconds`` (the answer being refined)."""
        start = time.perf_counter()
        if len(boxes) == 1:
            texts = [self.backend.generate([image.crop(boxes[0])], prompt, self.max_new_tokens)]
        else:
            texts = self.backend.generate_batch([GenerationRequest([image.crop(box)], prompt, self.max_new_tokens)
                                                 for box in boxes])
        timed.seconds += time.perf_counter() - start
        return texts

    def _zoom(self, image: Any, first: Grounding) -> Grounding:
        """The zoom step: the same prompt on the window around ``first``'s first point (and, with
        votes, on the windows shifted around it). When the window is not worth cutting, or the model
        finds nothing in the centred one, the first answer stands."""
        boxes = vote_boxes(first.points[0].xy, image.size, self.zoom_window, self.zoom_votes)
        if not boxes:
            return first
        texts = self._ask_windows(image, boxes, first.prompt, first)
        box, text = boxes[0], texts[0]
        points, result, agreed = self._voted_point(image, boxes, texts)
        if not points and result.said_none and self.zoom_search:
            return self._search(image, first, box)
        if not points:
            first.problems.append(f"the zoom window {box} gave no point ({text[:80]!r}); kept the first answer")
            return first
        return Grounding(points, first.prompt, text, first.seconds, False, first.problems + result.problems,
                         zoom_box=box, first_points=first.points, first_text=first.text, zoom_votes=agreed)

    def _voted_point(self, image: Any, boxes: list[PixelBox], texts: list[str]) -> tuple[list[Point], Any, int]:
        """(points of the centred window's answer in pixels of ``image``, its parse, how many window
        answers agreed): with votes, the first point is moved to the place most answers agree on
        (:func:`molmo_agent.zoom.consensus_point`); no points when the centred window gave none."""
        side = boxes[0][2] - boxes[0][0]
        result = parse(texts[0], (side, side), strict=self.strict)
        points = [point_from_window(point, boxes[0], image.size) for point in result.points]
        agreed = 0
        if points and self.zoom_votes > 1:
            answers = [points[0]]
            for other_box, other_text in zip(boxes[1:], texts[1:]):
                other = parse(other_text, (side, side), strict=False).points
                if other:
                    answers.append(point_from_window(other[0], other_box, image.size))
            points[0], agreed = consensus_point(answers, side)
        return points, result, agreed

    def _refine(self, image: Any, zoomed: Grounding) -> Grounding:
        """The zoom step's finer level (``zoom_refine``): the same prompt on windows of that size around
        the zoom step's point (with its votes); the zoom step's answer stands where no window is cut,
        the window is not much finer than the zoom step's, or the centred window gives no point."""
        if not (self.zoom_refine and zoomed.points and zoomed.zoom_box):
            return zoomed
        boxes = vote_boxes(zoomed.points[0].xy, image.size, self.zoom_refine, self.zoom_votes)
        zoom_side = zoomed.zoom_box[2] - zoomed.zoom_box[0]
        if not boxes or boxes[0][2] - boxes[0][0] >= REFINE_MAX_RATIO * zoom_side:
            return zoomed
        texts = self._ask_windows(image, boxes, zoomed.prompt, zoomed)
        points, result, agreed = self._voted_point(image, boxes, texts)
        if not points:
            zoomed.problems.append(f"the finer window {boxes[0]} gave no point ({texts[0][:80]!r}); kept the zoom step's")
            zoomed.refine_box = boxes[0]
            return zoomed
        return dataclasses.replace(zoomed, points=points, text=texts[0], problems=zoomed.problems + result.problems,
                                   refine_box=boxes[0], refine_votes=agreed)

    def _search(self, image: Any, first: Grounding, asked: PixelBox) -> Grounding:
        """The zoom search: ``first``'s prompt on the windows of a grid over ``image`` (less ``asked``, if
        it is one); the point most windows agree on (mapped back into ``image``), or ``first`` if none
        gives one."""
        boxes = [box for box in search_boxes(image.size, self.zoom_window) if box != asked]
        texts = self._ask_windows(image, boxes, first.prompt, first)
        found = []
        for box, text in zip(boxes, texts):
            points = parse(text, (box[2] - box[0], box[3] - box[1]), strict=False).points
            if points:
                found.append((point_from_window(points[0], box, image.size), text))
        note = f"the zoom window {asked} said the target is not there; searched {len(boxes)} windows"
        first.searched = len(boxes)
        if not found:
            first.problems.append(f"{note}, none gave a point; kept the first answer")
            return first
        point, text = pick_search_point(found, asked[2] - asked[0])
        return Grounding([point], first.prompt, text, first.seconds, False, first.problems + [note],
                         zoom_box=tuple(point.extra["zoom_box"]), first_points=first.points, first_text=first.text,
                         searched=len(boxes))

    def ground_many(self, image: Any, queries: list[str]) -> list[Grounding]:
        """Several queries about one image in one call (a local model encodes the image once)."""
        image = as_image(image)
        prompts = [self.point_prompt.format(query=q) for q in queries]
        start = time.perf_counter()
        many = getattr(self.backend, "generate_many", None)
        if many is not None:
            texts = many(image, prompts, self.max_new_tokens)
        else:  # a minimal Backend: one request per prompt, in one batch
            texts = self.backend.generate_batch([GenerationRequest([image], p, self.max_new_tokens) for p in prompts])
        seconds = (time.perf_counter() - start) / max(len(queries), 1)
        results = []
        for prompt, text in zip(prompts, texts):
            parsed = parse(text, image.size, strict=self.strict)
            results.append(Grounding(parsed.points, prompt, text, seconds, parsed.said_none, parsed.problems))
        return results

    def points(self, image: Any, query: str) -> list[Point]:
        return self.ground(image, query).points

    def point(self, image: Any, query: str) -> Point | None:
        """The first point for ``query``, or None when the model found nothing."""
        points = self.points(image, query)
        return points[0] if points else None

    def count(self, image: Any, query: str) -> Grounding:
        """Counting by pointing: the count is the number of points (``.count``); with ``count_tiles``
        the things the image's tiles vote for (:meth:`ground_tiled`)."""
        if self.count_tiles:
            return self.ground_tiled(image, self.count_prompt.format(query=query))
        return self.ground(image, query, self.count_prompt, zoom=False)

    def ground_tiled(self, image: Any, prompt: str) -> Grounding:
        """``prompt`` asked on each tile of a 4x4 grid over the image (:func:`molmo_agent.zoom.tile_grid`,
        one batch). Points of different tiles within ``TILE_MERGE_PERCENT`` of the image's longer side
        are one thing, kept (at their mean, in pixels of ``image``) when at least ``TILE_VOTE_SHARE`` of
        the tiles that show it found it (:func:`molmo_agent.zoom.tile_votes`); ``said_none`` when no
        thing is kept.

            grounding = Grounder(backend).ground_tiled(image, "How many red circles are there?")
            grounding.count, len(grounding.tiles)   # 3, 16
        """
        image = as_image(image)
        boxes = tile_grid(image.size)
        tiled = Grounding([], prompt, "", 0.0, tiles=boxes)
        texts = self._ask_windows(image, boxes, prompt, tiled)
        tile_points = []
        for box, text in zip(boxes, texts):
            parsed = parse(text, (box[2] - box[0], box[3] - box[1]), strict=self.strict)
            tile_points.append([point_from_window(point, box, image.size) for point in parsed.points])
            tiled.problems += [f"tile {box}: {problem}" for problem in parsed.problems]
        longer = max(image.size)
        tiled.points = tile_votes(tile_points, boxes, TILE_MERGE_PERCENT / 100 * longer, TILE_MARGIN_PERCENT / 100 * longer)
        tiled.text = "\n".join(texts)
        tiled.said_none = not tiled.points
        return tiled

    def act(self, image: Any, instruction: str, level: str = "low", zoom: bool = False) -> ActResult:
        """One AndroidControl step; ``level`` is ``"low"`` (step instruction) or ``"high"`` (goal).
        ``zoom`` (with ``zoom_window``) refines a Click / Long Press by asking the same step again on
        the window around its tap; it needs a model trained for that view, so it is off by default."""
        if level not in ("low", "high"):
            raise ActionError(f"level must be 'low' or 'high', got {level!r}")
        prompt = f"{level}_level: {instruction}"
        image, text, seconds = self._ask(image, prompt)
        action, plan = parse_android_action(text, image.size)
        first = ActResult(action, plan, prompt, text, seconds)
        if not (zoom and self.zoom_window and isinstance(action, (Click, LongPress))):
            return first
        return self._zoom_act(image, first)

    def _zoom_act(self, image: Any, first: ActResult) -> ActResult:
        """The zoom step of a tap: the first answer stands unless the window's answer is a tap of the
        same kind."""
        box = zoom_box((first.action.x, first.action.y), image.size, self.zoom_window)
        if box is None:
            return first
        (text,) = self._ask_windows(image, [box], first.prompt, first)
        try:
            action, _ = parse_android_action(text, (box[2] - box[0], box[3] - box[1]))
        except (ParseError, UnknownActionError):
            return first
        if type(action) is not type(first.action):
            return first
        refined = type(action)(action.x + box[0], action.y + box[1], frame="image")
        return ActResult(refined, first.plan, first.prompt, text, first.seconds, zoom_box=box, first_text=first.text)
