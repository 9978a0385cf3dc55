"""One point order for all training answers: the sims' generators and training's formatter agree.

The paper orders several points top-to-bottom, then left-to-right; both producers call
``molmo_agent.model.point_format``, checked here on the same inputs and against the rule itself.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from molmo_agent.model.point_format import sort_points
from molmo_agent.sims.datasets.molmo_format import format_count as sims_count
from molmo_agent.sims.datasets.molmo_format import format_points as sims_points
from molmo_agent.training.data.formats import count_answer, format_points

COORD = re.compile(r'x(\d*)="([\d.]+)" y\1="([\d.]+)"')
percent = st.floats(min_value=0.0, max_value=100.0, allow_nan=False).map(lambda v: round(v, 1))


def written(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for _, x, y in COORD.findall(text)]


def test_rows_then_columns():
    points = [(60.0, 40.0), (50.0, 4.0), (10.0, 4.0), (90.0, 0.5)]
    assert sort_points(points) == [(90.0, 0.5), (10.0, 4.0), (50.0, 4.0), (60.0, 40.0)]
    text = format_points(points, None, "dot")
    assert text == '<points x1="90.0" y1="0.5" x2="10.0" y2="4.0" x3="50.0" y3="4.0" x4="60.0" y4="40.0" alt="dot">dot</points>'
    assert sims_points(points, "dot") == text


def test_points_on_one_written_row_are_ordered_by_x():
    # 4.04 and 3.96 are both written 4.0: on the printed row, x decides
    assert written(format_points([(70.0, 4.04), (20.0, 3.96)], None, "a")) == [(20.0, 4.0), (70.0, 4.0)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(percent, percent), min_size=0, max_size=8), st.sampled_from(["mug", "a & b", 'say "hi"']))
def test_sims_and_training_write_the_same_answers(points, label):
    assert sims_points(points, label) == format_points(points, None, label)
    assert sims_count(points, label) == count_answer(points, None, label)
    order = [(y, x) for x, y in written(format_points(points, None, label))]
    assert order == sorted(order)  # top-to-bottom, then left-to-right
    assert sorted(written(format_points(points, None, label))) == sorted(points)  # nothing lost or moved


def test_labels_round_trip_through_both_parsers():
    from molmo_agent.parsing import parse_points as agent_parse
    from molmo_agent.training.evaluation import parse_points as eval_parse

    points = [(30.0, 40.0), (10.0, 20.0)]
    for label in ('say "hi"', "a & b", "x<y"):
        text = format_points(points, None, label)
        assert eval_parse(text) == [(10.0, 20.0), (30.0, 40.0)]
        parsed = agent_parse(text, (100, 100))
        assert [(p.x, p.y, p.label) for p in parsed] == [(10.0, 20.0, label), (30.0, 40.0, label)]
