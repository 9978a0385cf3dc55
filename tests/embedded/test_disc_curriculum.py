"""The pointing curriculum's disc images: the answer points at the drawn disc, of the named colour."""

import json

import numpy as np
import pytest

from molmo_agent.embedded.data import DISC_COLORS, DISC_RADII, DataGenerationError, disc_rows, write_source
from molmo_agent.parsing import parse


@pytest.mark.parametrize("source", sorted(DISC_RADII))
def test_answer_lands_on_a_disc_of_the_named_colour(source):
    low, high = DISC_RADII[source]
    for seed in range(25):
        image, annotations = next(disc_rows(seed, DISC_RADII[source]))
        (turn,) = annotations[0]
        points = parse(turn["answer"], (224, 224)).points
        assert len(points) == 1
        colour = turn["prompt"].removeprefix("Point to the ").removesuffix(" ball.")
        target = np.array(DISC_COLORS[colour])
        x, y = int(points[0].x), int(points[0].y)
        assert (image[y, x] == target).all()
        # the disc's size matches the source's radius range (area of the named colour)
        area = int((image == target).all(axis=-1).sum())
        assert np.pi * (low - 1) ** 2 <= area <= np.pi * (high + 1) ** 2


def test_held_out_seeds_are_refused():
    with pytest.raises(DataGenerationError, match="held-out"):
        next(disc_rows(1_000_000, DISC_RADII["discs-small"]))


def test_write_source_writes_conversation_rows(tmp_path):
    path = write_source(tmp_path, "discs-medium", 3)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 3 and all((tmp_path / "discs-medium" / r["image"]).is_file() for r in rows)
    assert rows[0]["annotations"][0][0]["prompt"].startswith("Point to the ")


def test_the_curriculum_configs_chain_stage_to_stage():
    from pathlib import Path

    from molmo_agent.training.config import TrainConfig

    configs = Path(__file__).resolve().parents[2] / "configs"
    stage1, stage2, mix = (TrainConfig.from_yaml(configs / f"embedded-curriculum-{n}.yaml")
                           for n in ("stage1", "stage2", "mix"))
    assert stage1.model.config is not None and stage1.model.vit_position_init == "sincos"
    assert stage1.model.tokenizer.endswith("tokenizer-112")
    assert stage1.model.config["vision_backbone"]["image_default_input_size"] == [112, 112]
    assert stage2.model.path == stage1.export.dir and mix.model.path == stage2.export.dir
    sources = {Path(d.path).parent.name for d in stage1.data.datasets + stage2.data.datasets}
    assert sources == {"discs-large", "discs-medium", "discs-small"}
    # the shipped recipe is untouched: it still reproduces the weights in molmo_agent/embedded
    shipped = TrainConfig.from_yaml(configs / "embedded.yaml")
    assert shipped.model.vit_position_init == "normal"
