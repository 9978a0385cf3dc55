"""Parser: every Molmo-family form, strict/lenient handling, and 10,000 adversarial mutations."""

from __future__ import annotations

import random
import subprocess
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import molmo_agent
from molmo_agent.errors import ParseError, ParseWarning
from molmo_agent.parsing import parse, parse_points
from molmo_agent.spaces import Space

SIZE = (640, 480)

# (text, expected [(x_px, y_px, label, space)]) for a 640x480 image; expectations computed by hand.
CORPUS = [
    ('<point x="61.5" y="40.2" alt="mug">mug</point>', [(393.6, 192.96, "mug", Space.PCT100)]),
    ('<point y="40.2" alt="mug" x="61.5">mug</point>', [(393.6, 192.96, "mug", Space.PCT100)]),
    ("<point x='50' y='50' alt='centre'>centre</point>", [(320.0, 240.0, "centre", Space.PCT100)]),
    ("<point x=25.0 y=75 alt=quarter>quarter</point>", [(160.0, 360.0, "quarter", Space.PCT100)]),
    ('<points x1="10.0" y1="20.0" x2="30.0" y2="40.0" alt="cups">cups</points>',
     [(64.0, 96.0, "cups", Space.PCT100), (192.0, 192.0, "cups", Space.PCT100)]),
    ('<points x1="0" y1="0" x2="100" y2="100" x3="50.5" y3="0.5" alt="c">c</points>',
     [(0.0, 0.0, "c", Space.PCT100), (640.0, 480.0, "c", Space.PCT100), (323.2, 2.4, "c", Space.PCT100)]),
    ('Sure! The button is here: <point x="12.5" y="25.0" alt="Save">Save</point>. Anything else?',
     [(80.0, 120.0, "Save", Space.PCT100)]),
    ('<point x="10" y="10" alt="a">a</point> and <point x="90" y="90" alt="b">b</point>',
     [(64.0, 48.0, "a", Space.PCT100), (576.0, 432.0, "b", Space.PCT100)]),
    ('<point x="50" y="50" alt="咖啡杯 ☕">咖啡杯 ☕</point>', [(320.0, 240.0, "咖啡杯 ☕", Space.PCT100)]),
    ('<point x="50" y="50" alt="Tom &amp; Jerry">Tom &amp; Jerry</point>', [(320.0, 240.0, "Tom & Jerry", Space.PCT100)]),
    ('<point x="50" y="50" alt="only alt"></point>', [(320.0, 240.0, "only alt", Space.PCT100)]),
    ('<POINT X="50" Y="50">caps</POINT>', [(320.0, 240.0, "caps", Space.PCT100)]),
    ('<points coords="1 1 500 250">cat</points>', [(320.0, 120.0, "cat", Space.NORM1000)]),
    ('<points coords="1 1 100 200 2 900 800">cats</points>',
     [(64.0, 96.0, "cats", Space.NORM1000), (576.0, 384.0, "cats", Space.NORM1000)]),
    ('<points coords="1 1 000 000;1 2 1000 1000">ends</points>',
     [(0.0, 0.0, "ends", Space.NORM1000), (640.0, 480.0, "ends", Space.NORM1000)]),
    ("Plan: tap the search bar. Action: Click(25.0, 12.5)", [(160.0, 60.0, "click", Space.PCT100)]),
    ("click(50,50)", [(320.0, 240.0, "click", Space.PCT100)]),
    ("p=250,500", [(160.0, 240.0, "", Space.NORM1000)]),
    ("There are none.", []),
    ("I can't see any mugs in this picture.", []),
    ("", []),
]


@pytest.mark.parametrize("text,expected", CORPUS)
def test_corpus(text, expected):
    points = parse_points(text, image_size=SIZE, strict=True)
    assert len(points) == len(expected)
    for point, (x, y, label, space) in zip(points, expected):
        assert point.x == pytest.approx(x) and point.y == pytest.approx(y)
        assert point.label == label and point.source_space is space and point.image_size == SIZE


def test_public_entry_point_and_none_flag():
    assert molmo_agent.parse_points is parse_points
    result = parse("There are none.", SIZE)
    assert result.points == [] and result.said_none and result.problems == []
    assert not parse("Nothing to report", SIZE).said_none


def test_molmo2_image_indices_map_to_their_own_sizes():
    text = '<points coords="1 1 500 500;2 1 500 500 2 1000 0">x</points>'
    points = parse_points(text, image_size=[(100, 100), (300, 50)], format="molmo2")
    assert [(p.image_index, p.x, p.y) for p in points] == [(0, 50.0, 50.0), (1, 150.0, 25.0), (1, 300.0, 0.0)]
    assert [p.extra["object_id"] for p in points] == [1, 1, 2]
    with pytest.raises(ParseError, match="image 3"):
        parse_points('<points coords="3 1 5 5">x</points>', image_size=[(10, 10)], strict=True)


def test_format_selection():
    text = '<point x="50" y="50">a</point> <points coords="1 1 100 100">b</points>'
    assert [p.label for p in parse_points(text, SIZE, format="molmo")] == ["a"]
    assert [p.label for p in parse_points(text, SIZE, format="molmo2")] == ["b"]
    assert [p.label for p in parse_points(text, SIZE, format="auto")] == ["a", "b"]
    with pytest.raises(ParseError, match="format"):
        parse_points(text, SIZE, format="molmo3")


@pytest.mark.parametrize("text,problem", [
    ('<point x="150" y="20">far</point>', "outside the pct100"),
    ('<point x="-1" y="20">neg</point>', "outside the pct100"),
    ('<point x="abc" y="20">nan</point>', "not a number"),
    ('<point x="nan" y="20">nan</point>', "not a number"),
    ('<point x="inf" y="20">inf</point>', "not a number"),
    ('<point x="50">half</point>', "not a number"),
    ('<points x1="10">one</points>', "lacks its y"),
    ('<point x="10" x="20" y="5">dup</point>', "twice"),
    ('<points coords="1 1 1500 20">big</points>', "outside the norm1000"),
    ('<points coords="1 1 15">short</points>', "not 'index id x y"),
    ("<point>nothing</point>", "no coordinates"),
    ("Click(120, 5)", "outside the pct100"),
])
def test_malformed_strict_raises_lenient_drops_with_warning(text, problem):
    with pytest.raises(ParseError, match=problem):
        parse_points(text, SIZE, strict=True)
    with pytest.warns(ParseWarning, match=problem):
        result = parse(text, SIZE)
    assert result.points == [] and any(problem in p for p in result.problems)


def test_lenient_keeps_the_good_points_next_to_bad_ones():
    text = '<points x1="10" y1="10" x2="200" y2="10" x3="20" y3="20">mix</points>'
    with pytest.warns(ParseWarning):
        points = parse_points(text, SIZE)
    assert [(p.x, p.y) for p in points] == [(64.0, 48.0), (128.0, 96.0)]


def test_an_answer_cut_off_mid_tag_keeps_its_complete_points():
    # the end of a 12-point answer that reached the generation limit
    text = 'Counting the <points x1="10" y1="10" x2="20" y2="20" x3="30'
    with pytest.warns(ParseWarning, match="cut off"):
        result = parse(text, SIZE)
    assert [(p.x, p.y) for p in result.points] == [(64.0, 48.0), (128.0, 96.0)]
    assert "kept its 2 complete point(s)" in result.problems[-1] and not result.said_none
    with pytest.raises(ParseError):
        parse(text, SIZE, strict=True)
    with pytest.warns(ParseWarning) as caught:  # a single point cut inside its y
        assert parse('<point x="50" y="2', SIZE).points == []
    assert any("cut off" in str(warning.message) for warning in caught)
    # a whole answer is not reported, nor text after a closed tag
    assert parse('<points x1="10" y1="10">a</points> and <', SIZE).problems == []


def test_bad_arguments():
    with pytest.raises(ParseError):
        parse_points(b"<point x='1' y='1'>", SIZE)
    with pytest.raises(molmo_agent.MolmoAgentError):
        parse_points("x", image_size=(0, 10))
    with pytest.raises(molmo_agent.MolmoAgentError):
        parse_points("x", image_size="640x480")


_ALPHABET = list('<>/"\'= .,-+;:\t\n0123456789xyXY') + ["point", "points", "coords", "alt", "1e9", "999",
                                                     "nan", "&amp;", "☕", "</point>", "<point ", "Click(", ")"]


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(chars))
        if op == 0:
            chars[pos:pos] = list(rng.choice(_ALPHABET))
        elif op == 1 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(_ALPHABET)
        elif op == 3:
            chars = chars[:pos]
        elif op == 4 and chars:
            start = rng.randint(0, len(chars) - 1)
            chars[pos:pos] = chars[start:start + rng.randint(1, 20)]
        else:
            digits = [i for i, c in enumerate(chars) if c.isdigit()]
            if digits:
                chars[rng.choice(digits)] = str(rng.choice([9, 99, 999, 10000]))
    return "".join(chars)


@pytest.mark.slow
def test_ten_thousand_mutations_never_crash_and_never_leave_the_image():
    rng = random.Random(1234)
    seeds = [text for text, _ in CORPUS if text]
    produced = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParseWarning)
        for _ in range(10_000):
            text = _mutate(rng.choice(seeds), rng)
            size = (rng.randint(1, 4000), rng.randint(1, 4000))
            try:
                points = parse_points(text, image_size=size, strict=rng.random() < 0.3)
            except ParseError:
                continue  # strict mode may refuse; anything else fails the test
            for p in points:
                assert 0.0 <= p.x <= size[0] and 0.0 <= p.y <= size[1], (text, p)
                assert p.image_size == size
            produced += len(points)
    assert produced > 1_000  # the mutations still contain plenty of parseable points


def test_model_text_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f'<point x="__import__(\'os\').system(\'touch {marker}\')" y="1">x</point>'
    with pytest.warns(ParseWarning):
        assert parse_points(text, SIZE) == []
    assert not marker.exists()


def test_import_molmo_agent_does_not_import_torch_or_numpy():
    code = ("import sys, molmo_agent; molmo_agent.parse_points('<point x=\"1\" y=\"1\">a</point>', (9, 9)); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_lazy_export_resolves():
    for name in molmo_agent.__all__:
        assert getattr(molmo_agent, name) is not None, name


_PIECES = st.sampled_from(['<point x="', '<points x1="', '" y="', '" y1="', '" x2="', '" y2="', '" alt="', '">',
                           "</point>", "</points>", '<points coords="', "Click(", ", ", ")", "p=", ",", ";", "1 ",
                           "There are none.", "☕", "&amp;", "'", "=", " "])
_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str), st.integers(-5, 2000).map(str))


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(_PIECES, _NUMBERS, st.text(max_size=5)), max_size=30),
       size=st.tuples(st.integers(1, 5000), st.integers(1, 5000)), strict=st.booleans())
def test_any_text_gives_points_inside_the_image_or_a_parse_error(parts, size, strict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParseWarning)
        try:
            points = parse_points("".join(parts), image_size=size, strict=strict)
        except ParseError:
            assert strict
            return
    assert all(0.0 <= p.x <= size[0] and 0.0 <= p.y <= size[1] for p in points)
