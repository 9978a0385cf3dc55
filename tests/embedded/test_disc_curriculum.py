"""The pointing curriculum's disc images: the answer points at the drawn disc, of the named colour."""

import json
from pathlib import Path

import numpy as np
import pytest

from molmo_agent.embedded.data import DISC_COLORS, DISC_RADII, DataGenerationError, disc_rows, write_source
from molmo_agent.parsing import parse

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
KEPT = Path(__file__).resolve().parents[2] / "checkpoints" / "embedded-curriculum-binding"
KEPT_STAGE7 = KEPT.parent / "embedded-curriculum-mix3"
KEPT_STAGE8 = KEPT.parent / "embedded-curriculum-mix4"
KEPT_STAGE9 = KEPT.parent / "embedded-curriculum-mix5"
KEPT_STAGE10 = KEPT.parent / "embedded-curriculum-stage10"
KEPT_STAGE11 = KEPT.parent / "embedded-curriculum-stage11"
KEPT_STAGE12 = KEPT.parent / "embedded-curriculum-stage12"
KEPT_STAGE13 = KEPT.parent / "embedded-curriculum-stage13"
KEPT_STAGE14 = KEPT.parent / "embedded-curriculum-stage14"
KEPT_STAGE15 = KEPT.parent / "embedded-curriculum-stage15"
KEPT_STAGE16 = KEPT.parent / "embedded-curriculum-stage16"
KEPT_STAGE17 = KEPT.parent / "embedded-curriculum-stage17"
KEPT_STAGE18 = KEPT.parent / "embedded-curriculum-stage18"
KEPT_STAGE19 = KEPT.parent / "embedded-curriculum-stage19"
SHIPPED = (CONFIGS.parent / "molmo_agent" / "embedded").resolve()


def source_rates(config) -> dict[str, float]:
    """{source folder: fixed share} of a training config's mixture."""
    return {Path(d.path).parent.name: d.rate for d in config.data.datasets}


def pop_fresh_word_blocks(config, rates: dict[str, float], shares: dict[str, float]) -> None:
    """Removes each fresh word block from ``rates`` after checking its share, and that the block
    holds more pictures than the run draws at that share (none comes round twice)."""
    from molmo_agent.embedded.data import WORDS_PER_SEED
    from molmo_agent.embedded.prepare import COUNTS

    for block, share in shares.items():
        assert rates.pop(block) == pytest.approx(share)
        drawn = share * config.train.global_batch_size * config.train.steps
        assert drawn <= WORDS_PER_SEED * COUNTS[block], block


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


def test_generate_training_data_resumes_and_runs_sources_in_parallel(tmp_path):
    from molmo_agent.embedded.data import generate_training_data, is_complete

    counts = {"discs-medium": 3, "discs-small": 2}
    serial = generate_training_data(tmp_path / "serial", counts, show_progress=False)
    parallel = generate_training_data(tmp_path / "parallel", counts, show_progress=False, workers=2)
    for source in counts:  # the same seeds give the same rows and images, whichever process wrote them
        assert serial[source].read_text() == parallel[source].read_text()
        first = json.loads(serial[source].read_text().splitlines()[0])["image"]
        assert (tmp_path / "serial" / source / first).read_bytes() == (tmp_path / "parallel" / source / first).read_bytes()
        assert is_complete(tmp_path / "parallel", source, counts[source])
    # a second run keeps complete sources and rewrites the one whose seed count changed
    kept = serial["discs-medium"].stat().st_mtime_ns
    (tmp_path / "serial" / "discs-small" / "train.jsonl").write_text("stale\n")
    again = generate_training_data(tmp_path / "serial", {"discs-medium": 3, "discs-small": 4}, show_progress=False)
    assert again["discs-medium"].stat().st_mtime_ns == kept
    assert len(again["discs-small"].read_text().splitlines()) == 4
    assert not is_complete(tmp_path / "serial", "discs-small", 2) and is_complete(tmp_path / "serial", "discs-small", 4)


def test_an_interrupted_source_is_not_complete(tmp_path):
    from molmo_agent.embedded.data import is_complete

    write_source(tmp_path, "discs-small", 2)
    assert is_complete(tmp_path, "discs-small", 2)
    with pytest.raises(DataGenerationError):  # fails before writing anything: the old stamp must go
        write_source(tmp_path, "discs-small", 2, seed=999_999)
    assert is_complete(tmp_path, "discs-small", 2)

    def interrupt(_seeds: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # stopped after its first seed
        write_source(tmp_path, "discs-small", 2, progress=interrupt)
    assert not is_complete(tmp_path, "discs-small", 2)


def test_the_curriculum_configs_chain_stage_to_stage():
    from molmo_agent.training.config import TrainConfig

    stages = {n: TrainConfig.from_yaml(CONFIGS / f"embedded-curriculum-{n}.yaml")
              for n in ("stage1", "stage2", "binding", "binding2", "mix", "mix2", "mix3", "mix4", "mix5", "stage10",
                        "stage11", "stage12", "stage13", "stage14", "stage15", "stage16", "stage17", "stage18",
                        "stage19")}
    stages["final"] = TrainConfig.from_yaml(CONFIGS / "embedded.yaml")  # stage 20: the shipped model
    stage1 = stages["stage1"]
    assert stage1.model.config is not None and stage1.model.vit_position_init == "sincos"
    assert stage1.model.tokenizer.endswith("tokenizer-112")
    assert stage1.model.config["vision_backbone"]["image_default_input_size"] == [112, 112]
    for before, after in (("stage1", "stage2"), ("stage2", "binding"), ("binding", "binding2")):
        assert stages[after].model.path == stages[before].export.dir
    # stage 5 starts from the binding export kept in the repository
    assert Path(stages["mix"].model.path) == KEPT.resolve()
    assert stages["mix2"].model.path == stages["mix"].export.dir
    assert stages["mix3"].model.path == stages["mix2"].export.dir
    # stages 8-20 start from the exports before them, also kept in the repository
    assert Path(stages["mix4"].model.path) == KEPT_STAGE7.resolve()
    assert Path(stages["mix5"].model.path) == KEPT_STAGE8.resolve()
    assert Path(stages["stage10"].model.path) == KEPT_STAGE9.resolve()
    assert Path(stages["stage11"].model.path) == KEPT_STAGE10.resolve()
    assert Path(stages["stage12"].model.path) == KEPT_STAGE11.resolve()
    assert Path(stages["stage13"].model.path) == KEPT_STAGE12.resolve()
    assert Path(stages["stage14"].model.path) == KEPT_STAGE13.resolve()
    assert Path(stages["stage15"].model.path) == KEPT_STAGE14.resolve()
    assert Path(stages["stage16"].model.path) == KEPT_STAGE15.resolve()
    assert Path(stages["stage17"].model.path) == KEPT_STAGE16.resolve()
    assert Path(stages["stage18"].model.path) == KEPT_STAGE17.resolve()
    assert Path(stages["stage19"].model.path) == KEPT_STAGE18.resolve()
    assert Path(stages["final"].model.path) == KEPT_STAGE19.resolve()
    for kept in (KEPT_STAGE7, KEPT_STAGE8, KEPT_STAGE9, KEPT_STAGE10, KEPT_STAGE11, KEPT_STAGE12, KEPT_STAGE13,
                 KEPT_STAGE14, KEPT_STAGE15, KEPT_STAGE16, KEPT_STAGE17, KEPT_STAGE18, KEPT_STAGE19):
        assert (kept / "model.safetensors").is_file(), kept
    assert {"tabletop-more", "waypoint-more", "pointing-more"} <= {d.name for d in stages["mix3"].data.datasets}

    def added(before: str, after: str) -> set[str]:
        files = {d.path for d in stages[before].data.datasets}
        return {Path(d.path).parent.name for d in stages[after].data.datasets if d.path not in files}

    assert added("mix3", "mix4") == {"tabletop-more2", "waypoint-more2", "pointing-more2", "gui-more", "phone-more"}
    assert added("mix4", "mix5") == {"tabletop-more3", "waypoint-more3", "pointing-more3", "gui-more2", "phone-more2"}
    assert not added("mix5", "mix4")  # stage 9 keeps every earlier source
    # stage 10 trains on stage 9's scenes again, at lower learning rates
    assert [d.path for d in stages["stage10"].data.datasets] == [d.path for d in stages["mix5"].data.datasets]
    assert stages["stage10"].train.lr["llm"] < stages["mix5"].train.lr["llm"]
    # stage 11 adds fresh scenes again and keeps every earlier source
    assert added("stage10", "stage11") == {"tabletop-more4", "waypoint-more4", "pointing-more4", "gui-more3", "phone-more3"}
    assert not added("stage11", "stage10")
    # stage 12 adds fresh scenes again, at stage 11's rates
    assert added("stage11", "stage12") == {"tabletop-more5", "waypoint-more5", "pointing-more5", "gui-more4",
                                           "phone-more4"}
    assert not added("stage12", "stage11")
    assert stages["stage12"].train.lr == stages["stage11"].train.lr
    # stage 13, at stage 12's rates: only scenes no stage saw, the fresh blocks at the fresh-only
    # experiment's shares x 0.85, and the zoom step's GUI windows at 15 %
    stage13 = stages["stage13"]
    assert stage13.train.lr == stages["stage12"].train.lr
    stage13_rates = source_rates(stage13)
    assert stage13_rates.pop("gui-zoom") == pytest.approx(0.15)
    assert not set(stage13_rates) - {"discs-small", "discs-multi"} & {Path(d.path).parent.name
                                                                      for d in stages["stage12"].data.datasets}
    # the next block continues from the shipped weights, on the final stage's data
    continued = TrainConfig.from_yaml(CONFIGS / "embedded-continue.yaml")
    assert Path(continued.model.path) == SHIPPED
    assert [d.path for d in continued.data.datasets] == [d.path for d in stages["final"].data.datasets]
    # the fresh-only experiment (not shipped) starts from stage 12, on unseen blocks only
    fresh = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-fresh-only.yaml")
    assert Path(fresh.model.path) == KEPT_STAGE12.resolve()
    fresh_sources = {Path(d.path).parent.name for d in fresh.data.datasets} - {"discs-small", "discs-multi"}
    assert fresh_sources == {"tabletop-more6", "waypoint-more6", "pointing-more6", "gui-more5", "phone-more5"}
    assert not fresh_sources & {Path(d.path).parent.name for d in stages["stage12"].data.datasets}
    assert sum(d.rate for d in fresh.data.datasets) == pytest.approx(1.0)
    # the whole-mixture experiment (not shipped): stage 12's mixture plus exactly those blocks
    whole = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-stage13.yaml")
    assert Path(whole.model.path) == KEPT_STAGE12.resolve()
    stages["whole"] = whole
    assert added("stage12", "whole") == fresh_sources and not added("whole", "stage12")
    assert whole.train.lr == stages["stage12"].train.lr
    # the depth experiment (not shipped): the fresh-only data and rates, from the grown weights,
    # beside a control that differs only in starting from stage 12's 4-block weights
    # (and the crop experiment: the same control, from the weights with 224 px crops)
    deeper = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-deeper.yaml")
    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-deeper-control.yaml")
    crops = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224.yaml")
    assert Path(deeper.model.path).name == "embedded-deeper-init"
    assert Path(control.model.path) == KEPT_STAGE12.resolve()
    assert Path(crops.model.path).name == "embedded-224-init"
    for run in (deeper, control, crops):
        assert [d.path for d in run.data.datasets] == [d.path for d in fresh.data.datasets]
        assert run.train.lr == fresh.train.lr and run.export.dir is None
        assert run.train == control.train and run.data == control.data
        assert run.model.max_crops == control.model.max_crops
    assert len({deeper.run_dir, control.run_dir, crops.run_dir, fresh.run_dir}) == 4
    # stage 13 was run as this control plus the gui-zoom windows at a 15 % share, the others scaled
    # down: same start, same schedule, so the control measures what the windows did
    assert stage13.model.path == control.model.path and stage13.train == control.train
    assert sum(stage13_rates.values()) == pytest.approx(0.85)
    for dataset in control.data.datasets:
        assert stage13_rates[Path(dataset.path).parent.name] == pytest.approx(0.85 * dataset.rate, abs=6e-4)
    # stage 14: stage 13's mixture x 0.8 plus the zoom step's windows of camera frames (waypoint
    # 12 %, tabletop 8 %), 1,500 steps with a 50-step warm-up
    stage14 = stages["stage14"]
    assert added("stage13", "stage14") == {"waypoint-zoom", "tabletop-zoom"} and not added("stage14", "stage13")
    stage14_rates = source_rates(stage14)
    assert (stage14_rates.pop("waypoint-zoom"), stage14_rates.pop("tabletop-zoom")) == pytest.approx((0.12, 0.08))
    for dataset in stage13.data.datasets:
        assert stage14_rates[Path(dataset.path).parent.name] == pytest.approx(0.8 * dataset.rate, abs=6e-4)
    # at stage 13's peak rates; the half-rate experiment differs from it only there
    assert vars(stage14.train) == vars(stage13.train) | {"steps": 1500, "warmup": {"vit": 50, "connector": 50, "llm": 50}}
    low_lr = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-scene-zoom-low-lr.yaml")
    assert low_lr.model.path == stage14.model.path and low_lr.data == stage14.data
    assert {k: 2 * v for k, v in low_lr.train.lr.items()} == pytest.approx(stage14.train.lr)
    assert vars(low_lr.train) | {"lr": stage14.train.lr} == vars(stage14.train) and low_lr.run_dir != stage14.run_dir
    # stage 15: stage 14's windows of camera frames give way, at the same shares, to the same kind of
    # windows of fresh scenes with "There are none." questions; the rest is stage 14's; half stage
    # 14's rates (the half-rate experiment's), its schedule and steps
    stage15 = stages["stage15"]
    assert added("stage14", "stage15") == {"waypoint-zoom-none", "tabletop-zoom-none"}
    assert added("stage15", "stage14") == {"waypoint-zoom", "tabletop-zoom"}
    final_rates = source_rates(stage15)
    assert (final_rates.pop("waypoint-zoom-none"), final_rates.pop("tabletop-zoom-none")) == pytest.approx((0.12, 0.08))
    assert final_rates == pytest.approx(stage14_rates)
    assert vars(stage15.train) == vars(low_lr.train)
    # the experiment after it (not shipped): stage 15's weights, twice the share of those windows
    more_none = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-zoom-none-more.yaml")
    assert Path(more_none.model.path) == KEPT_STAGE15.resolve() and more_none.run_dir != stage15.run_dir
    more_rates = source_rates(more_none)
    assert (more_rates.pop("waypoint-zoom-none"), more_rates.pop("tabletop-zoom-none")) == pytest.approx((0.24, 0.16))
    assert more_rates == pytest.approx({name: 0.75 * rate for name, rate in final_rates.items()}, abs=6e-4)
    assert vars(more_none.train) == vars(stage15.train) | {"steps": 1000}
    # stage 16: only blocks no stage saw (fresh blocks of every stage-15 source and gui-read, the
    # windows of screens at nearly their own scale), at stage 14's peak rates for 2,500 steps
    stage16, stage17 = stages["stage16"], stages["stage17"]
    stage16_sources = {Path(d.path).parent.name for d in stage16.data.datasets} - {"discs-small", "discs-multi"}
    assert stage16_sources == {"gui-read", "gui-zoom-more", "gui-more6", "phone-more6", "pointing-more7",
                               "tabletop-more7", "waypoint-more7", "tabletop-zoom-none-more", "waypoint-zoom-none-more"}
    assert not stage16_sources & {Path(d.path).parent.name for n in stages for d in stages[n].data.datasets
                                  if n not in ("stage16", "stage17", "stage18", "stage19", "final")}
    assert stage16.train.lr == stage14.train.lr and stage16.train.steps == 2500
    # stage 17: the same blocks, more pointing and less gui-read, half the rates
    assert not added("stage16", "stage17") and not added("stage17", "stage16")
    rates17 = source_rates(stage17)
    assert (rates17["pointing-more7"], rates17["gui-read"]) == pytest.approx((0.20, 0.15))
    assert {k: 2 * v for k, v in stage17.train.lr.items()} == pytest.approx(stage16.train.lr)
    assert vars(stage17.train) | {"lr": stage16.train.lr, "steps": 2500} == vars(stage16.train)
    # stage 18: stage 17's sources at 75 % of their shares, and the tiles of shape scenes at 25 %,
    # at stage 16's peak rates for 1,500 steps
    stage18, stage19, final = stages["stage18"], stages["stage19"], stages["final"]
    assert added("stage17", "stage18") == {"pointing-tiles"} and not added("stage18", "stage17")
    rates18 = source_rates(stage18)
    assert rates18.pop("pointing-tiles") == pytest.approx(0.25)
    assert rates18 == pytest.approx({name: 0.75 * rate for name, rate in rates17.items()}, abs=6e-4)
    assert vars(stage18.train) == vars(stage17.train) | {"lr": stage16.train.lr, "steps": 1500}
    # stage 19: the same sources, tiles at 12 %, stage 17's rates and steps
    assert not added("stage18", "stage19") and not added("stage19", "stage18")
    rates19 = source_rates(stage19)
    assert rates19["pointing-tiles"] == pytest.approx(0.12) and sum(rates19.values()) == pytest.approx(1.0)
    assert vars(stage19.train) == vars(stage17.train)
    # stage 20 (the shipped model): phone-type at 3 %, taken from phone-more6, 600 steps at stage 19's rates
    assert added("stage19", "final") == {"phone-type"} and not added("final", "stage19")
    rates20 = source_rates(final)
    assert rates20.pop("phone-type") == pytest.approx(0.03)
    assert rates20 == pytest.approx(rates19 | {"phone-more6": rates19["phone-more6"] - 0.03})
    assert vars(final.train) == vars(stage19.train) | {"steps": 600}
    sources = {Path(d.path).parent.name for n in ("stage1", "stage2", "binding") for d in stages[n].data.datasets}
    assert sources == {"discs-large", "discs-medium", "discs-small", "discs-multi"}
    # the first model's recipe is untouched: it still reproduces those weights (normal ViT positions)
    assert TrainConfig.from_yaml(CONFIGS / "embedded-first.yaml").model.vit_position_init == "normal"


@pytest.mark.slow
def test_kept_binding_checkpoint_points_at_the_named_disc_on_held_out_images():
    """The curriculum state kept in the repository, end to end: image -> model -> parser -> point."""
    import torch

    from molmo_agent.embedded.data import multi_disc_rows
    from molmo_agent.training.evaluation.inference import Predictor

    torch.set_num_threads(1)
    predictor = Predictor.from_pretrained(KEPT, max_new_tokens=24)
    hits = total = 0
    for seed in range(1_000_000, 1_000_010):
        image, annotations = next(multi_disc_rows(seed, held_out=True))
        for (turn,) in annotations[:2]:
            (expected,) = parse(turn["answer"], (224, 224)).points
            answer = parse(predictor.answer(image, turn["prompt"]), (224, 224), strict=False).points
            total += 1
            hits += bool(answer) and abs(answer[0].x - expected.x) <= 11.2 and abs(answer[0].y - expected.y) <= 11.2
    # measured: 93 % within 5 % of the image on 60 held-out images; guessing a disc gives ~35 %
    assert hits / total >= 0.75, (hits, total)


def test_multi_disc_answers_land_on_the_disc_of_the_named_colour():
    from molmo_agent.embedded.data import multi_disc_rows

    for seed in range(25):
        image, annotations = next(multi_disc_rows(seed))
        colours = [turn["prompt"].removeprefix("Point to the ").removesuffix(" ball.") for (turn,) in annotations]
        assert 2 <= len(colours) <= 4 and len(set(colours)) == len(colours)
        for (turn,), colour in zip(annotations, colours):
            (point,) = parse(turn["answer"], (224, 224)).points
            assert (image[int(point.y), int(point.x)] == np.array(DISC_COLORS[colour])).all()


def test_more_sources_are_new_scenes_from_the_base_generator(tmp_path):
    """tabletop-more etc.: same generator and answer format, seeds disjoint from the base file's."""
    from molmo_agent.embedded.data import MORE_SOURCES, SEED_OFFSETS
    from molmo_agent.embedded.prepare import COUNTS

    for base in set(MORE_SOURCES.values()):
        blocks = [base] + [more for more, of in MORE_SOURCES.items() if of == base]
        seeds = [range(SEED_OFFSETS[b], SEED_OFFSETS[b] + COUNTS[b]) for b in blocks]
        # no two blocks of one generator share a seed
        assert sum(len(r) for r in seeds) == len(set().union(*seeds)), blocks
        # each block stays inside its sim's 100,000-seed slot (gui-words shares the GUI generator's
        # 0-99,999, and gui-words-small-more4 lies below gui-words' own block), below the held-out range
        slot = SEED_OFFSETS[base.split("-")[0]]
        assert all(slot <= r[0] and r[-1] < slot + 100_000 for r in seeds), blocks
    # top_down_grasp's defaults were chosen on tabletop scenes 290,000+: no training block reaches them
    assert all(SEED_OFFSETS[b] + COUNTS[b] <= 290_000 for b in COUNTS if b.startswith("tabletop"))
    more = write_source(tmp_path, "pointing-more", 2)
    base = write_source(tmp_path, "pointing", 2, seed=SEED_OFFSETS["pointing-more"])
    more_rows = [json.loads(line) for line in more.read_text().splitlines()]
    base_rows = [json.loads(line) for line in base.read_text().splitlines()]
    assert [r["annotations"] for r in more_rows] == [r["annotations"] for r in base_rows]
    assert more_rows[0]["image"].startswith(f"images/{SEED_OFFSETS['pointing-more']:07d}")


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("embedded*.yaml")))
def test_every_embedded_config_has_a_mixture_the_trainer_accepts(config):
    """The trainer's own check of the fixed shares (>= 0, summing to at most 1), run on each config
    before a block of CPU time is spent starting it."""
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.data.mixture import mixture_rates

    datasets = TrainConfig.from_yaml(CONFIGS / config).data.datasets
    names = [f"{i}:{d.name}" for i, d in enumerate(datasets)]
    fixed = {name: d.rate for name, d in zip(names, datasets) if d.rate is not None}
    rates = mixture_rates(dict.fromkeys(names, 1), fixed_rates=fixed)
    assert sum(rates.values()) == pytest.approx(1.0)


def test_prepare_for_the_last_stage_writes_only_the_sources_it_reads(tmp_path, capsys):
    """`prepare --for configs/embedded.yaml` (what the recipe runs when only the last stage is left):
    exactly the sources that config reads, each complete, and no tokenizer (the stage starts from a
    kept checkpoint that has one); a config reading data prepare does not write is refused."""
    from molmo_agent.embedded.data import DataGenerationError, is_complete
    from molmo_agent.embedded.prepare import COUNTS, main, sources_for
    from molmo_agent.training.config import TrainConfig

    final = CONFIGS / "embedded.yaml"
    wanted = sources_for([final])
    assert wanted == {Path(d.path).parent.name for d in TrainConfig.from_yaml(final).data.datasets}
    assert "phone-type" in wanted and not wanted & {"gui", "phone", "tabletop", "waypoint", "pointing"}
    with pytest.raises(DataGenerationError, match="pointing-grid-tiles"):
        sources_for([CONFIGS / "embedded-experiment-grid-tiles.yaml"])
    # stage 1 starts from scratch with the tokenizer prepare trains: its texts' sources come along
    assert sources_for([CONFIGS / "embedded-curriculum-stage1.yaml"]) == {"discs-large", "gui", "phone", "tabletop",
                                                                         "waypoint", "pointing"}
    assert main([str(tmp_path), "--for", str(final), "--scale", "0.0001", "--workers", "1"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == wanted
    assert all(is_complete(tmp_path, source, max(1, round(COUNTS[source] * 0.0001))) for source in wanted)
    assert "tokenizer: not needed" in capsys.readouterr().out


def test_the_fine_tiles_experiment_differs_from_its_control_only_in_the_fine_tiles():
    """Session 22's experiment (not shipped) and its control both continue the shipped weights for
    1,000 steps at stage 20's rates; the experiment adds pointing-fine-tiles at 8 %, taken from
    pointing-tiles (12 % -> 6 %) and pointing-more7 (11 % -> 9 %)."""
    from molmo_agent.training.config import TrainConfig

    final = TrainConfig.from_yaml(CONFIGS / "embedded.yaml")
    fine = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-fine-tiles.yaml")
    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-fine-tiles-control.yaml")
    for run in (fine, control):
        assert Path(run.model.path).resolve() == SHIPPED
        assert vars(run.train) == vars(final.train) | {"steps": 1000}
    assert control.data == final.data and fine.run_dir != control.run_dir
    rates = source_rates(fine)
    control_rates = source_rates(control)
    assert rates.pop("pointing-fine-tiles") == pytest.approx(0.08)
    assert rates == pytest.approx(control_rates | {"pointing-tiles": 0.06, "pointing-more7": 0.09})


def test_the_stage_20_crops_experiment_is_stage_20_with_224_px_crops_at_stage_16s_rates():
    """Session 23's experiment (not shipped): the shipped weights grown to 224 px crops, trained on
    stage 20's own mixture for 3,000 steps at stage 16's peak rates with a 100-step warm-up; the
    crops, the start and the schedule are its only differences from stage 20, and the crops its only
    difference from its control."""
    from molmo_agent.training.config import TrainConfig

    final = TrainConfig.from_yaml(CONFIGS / "embedded.yaml")
    stage16 = TrainConfig.from_yaml(CONFIGS / "embedded-curriculum-stage16.yaml")
    crops = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224-stage20.yaml")
    assert Path(crops.model.path).name == "embedded-224-stage20-init"  # growth.py --crop-size 224 of the shipped
    assert crops.data == final.data and crops.run_dir != final.run_dir and crops.export.dir is None
    assert crops.train.lr == stage16.train.lr
    assert set(crops.train.warmup.values()) == {100}
    assert vars(crops.train) == vars(final.train) | {"steps": 3000, "lr": crops.train.lr, "warmup": crops.train.warmup}
    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224-stage20-control.yaml")
    assert Path(control.model.path).resolve() == SHIPPED  # the same run from the 112 px weights
    assert (control.train, control.data) == (crops.train, crops.data) and control.run_dir != crops.run_dir


def test_the_gui_name_experiment_is_the_crops_control_with_name_windows_at_20_percent():
    """Session 24's experiment: the session-23 control's run (shipped weights, stage 20's mixture,
    3,000 steps at stage 16's rates) with gui-name at 20 % and every other source at 80 % of its
    share, so that the control's evaluation is its baseline and the name windows its only change."""
    from molmo_agent.training.config import TrainConfig

    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224-stage20-control.yaml")
    names = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-gui-name.yaml")
    assert (names.model, names.train) == (control.model, control.train) and names.run_dir != control.run_dir
    rates = source_rates(names)
    control_rates = source_rates(control)
    assert rates.pop("gui-name") == pytest.approx(0.20)
    assert rates == pytest.approx({source: 0.80 * rate for source, rate in control_rates.items()})
    assert [(d.type, d.name) for d in names.data.datasets[1:]] == [(d.type, d.name) for d in control.data.datasets]


def test_the_reading_experiments_add_word_pictures_to_the_control_or_train_on_them_alone():
    """Session 24's reading experiments: gui-words 40 % + gui-words-small 10 % with the control's
    mixture at half its shares for 1,000 steps; the diagnostic trains on the word pictures alone at
    the disc curriculum's rates (stages 1-5) for 3,000 steps, from the same shipped weights, then
    6,000 more from its own end, then the control's run from there with 30 % reading."""
    from molmo_agent.training.config import TrainConfig

    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224-stage20-control.yaml")
    words = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-gui-words.yaml")
    assert words.model == control.model and words.run_dir != control.run_dir
    assert vars(words.train) == vars(control.train) | {"steps": 1000, "warmup": {"vit": 50, "connector": 50, "llm": 50}}
    rates = source_rates(words)
    assert (rates.pop("gui-words"), rates.pop("gui-words-small")) == pytest.approx((0.40, 0.10))
    assert rates == pytest.approx({Path(d.path).parent.name: 0.5 * d.rate for d in control.data.datasets})
    alone = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-gui-words-only.yaml")
    stage1 = TrainConfig.from_yaml(CONFIGS / "embedded-curriculum-stage1.yaml")
    assert alone.model == control.model and alone.train.lr == stage1.train.lr and alone.train.steps == 3000
    assert source_rates(alone) == {"gui-words": 0.8, "gui-words-small": 0.2}
    more = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-gui-words-only-more.yaml")
    assert Path(more.model.path) == Path(alone.run_dir) / "final"  # continues the diagnostic
    assert vars(more.train) == vars(alone.train) | {"steps": 6000} and more.data == alone.data
    # and back to the sims from its end: the control's run and mixture (70 %), still reading (30 %)
    back = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-read-then-sims.yaml")
    assert Path(back.model.path) == Path(more.run_dir) / "final" and back.train == control.train
    rates = source_rates(back)
    assert [rates.pop(s) for s in ("gui-name", "gui-words", "gui-words-small")] == pytest.approx([0.15, 0.05, 0.10])
    assert rates == pytest.approx({Path(d.path).parent.name: 0.7 * d.rate for d in control.data.datasets})


def test_the_stage_19_experiments_start_from_the_kept_stage_19_weights():
    """Sessions 20 and 21 ran their experiments on the stage-19 weights then shipped: their configs
    start from the kept copy, at stage 19's settings, so they still mean those runs now that the
    shipped weights are stage 20 (whose config is the phone-type run but for its run directory)."""
    from molmo_agent.training.config import TrainConfig

    stage19 = TrainConfig.from_yaml(CONFIGS / "embedded-curriculum-stage19.yaml")
    final = TrainConfig.from_yaml(CONFIGS / "embedded.yaml")
    kept = (CONFIGS.parent / "checkpoints" / "embedded-curriculum-stage19").resolve()
    for name in ("grid-tiles", "confusable-tiles"):
        run = TrainConfig.from_yaml(CONFIGS / f"embedded-experiment-{name}.yaml")
        assert Path(run.model.path).resolve() == kept
        assert vars(run.train) == vars(stage19.train)
    phone_type = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-phone-type.yaml")
    assert (phone_type.model, phone_type.train, phone_type.data) == (final.model, final.train, final.data)
    assert phone_type.run_dir != final.run_dir


def test_the_letter_experiments_start_reading_from_large_letters():
    """Session 25's reading curriculum: large letters alone for 1,500 steps at the word diagnostic's
    rates, from the shipped weights; then medium letters (80 %) with the large ones (20 %) for
    3,000; the word diagnostic's pictures and run (3,000 steps) from either's end; and both kinds of
    letters at 25 % each beside the control's mixture at half its shares, on the control's run."""
    from molmo_agent.training.config import TrainConfig

    words = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-gui-words-only.yaml")
    letters = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters.yaml")
    assert letters.model == words.model and vars(letters.train) == vars(words.train) | {"steps": 1500}
    assert source_rates(letters) == {"letters": 1.0}
    medium = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-medium.yaml")
    assert Path(medium.model.path) == Path(letters.run_dir) / "final"
    assert vars(medium.train) == vars(words.train) and source_rates(medium) == {"letters-medium": 0.8, "letters": 0.2}
    for name, start in (("letters-words", letters), ("letters-medium-words", medium)):
        then_words = TrainConfig.from_yaml(CONFIGS / f"embedded-experiment-{name}.yaml")
        assert Path(then_words.model.path) == Path(start.run_dir) / "final"
        assert then_words.train == words.train and then_words.data == words.data
    control = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-crops224-stage20-control.yaml")
    beside = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-beside.yaml")
    assert beside.model == control.model and beside.train == control.train and beside.run_dir != control.run_dir
    rates = source_rates(beside)
    assert (rates.pop("letters"), rates.pop("letters-medium")) == pytest.approx((0.25, 0.25))
    assert rates == pytest.approx({Path(d.path).parent.name: 0.5 * d.rate for d in control.data.datasets})
    # the large letters alone at the control's rates (a diagnostic of the run beside the sims)
    slow = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-slow.yaml")
    assert slow.train.lr == control.train.lr and vars(slow.train) == vars(letters.train) | {"lr": control.train.lr}
    assert slow.model == letters.model and slow.data == letters.data
    # the letters at 95 % of the rows (a third of the loss tokens), the control's mixture at 5 %
    tokens = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-tokens.yaml")
    assert tokens.model == control.model and tokens.train == control.train
    rates = source_rates(tokens)
    assert rates.pop("letters") == pytest.approx(0.95)
    assert rates == pytest.approx({Path(d.path).parent.name: 0.05 * d.rate for d in control.data.datasets})


def test_the_letters_beside_stage_1_start_from_scratch_like_stage_1():
    """Stage 1's model from scratch and settings (the shipped BPE), with large letters at half of
    each batch for twice the steps; its control, the letters alone for stage 1's 1,200 steps."""
    from molmo_agent.training.config import TrainConfig

    stage1 = TrainConfig.from_yaml(CONFIGS / "embedded-curriculum-stage1.yaml")
    beside = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-stage1.yaml")
    assert beside.model.config == stage1.model.config and beside.model.path is None
    assert Path(beside.model.tokenizer) == CONFIGS.parent / "molmo_agent" / "embedded"
    assert vars(beside.train) == vars(stage1.train) | {"steps": 2400} and beside.seed == stage1.seed
    assert source_rates(beside) == {"discs-large": 0.5, "letters": 0.5}
    alone = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-scratch.yaml")
    assert alone.model == beside.model and vars(alone.train) == vars(stage1.train)
    assert source_rates(alone) == {"letters": 1.0} and alone.export.dir != beside.export.dir


def test_the_words_stage_beside_the_sims_starts_from_the_letters_stage():
    """Session 27's words stage: from the letters-extra run's weights, its 32-row grouped steps for
    3,000 steps, fresh large and small word pictures a fifth of the rows each, medium letters a tenth,
    and the letters stage's sims rows unchanged."""
    from molmo_agent.training.config import TrainConfig

    letters = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-letters-extra.yaml")
    words = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more-extra.yaml")
    assert Path(words.model.path) == Path(letters.run_dir) / "final"
    assert vars(words.train) == vars(letters.train) | {"steps": 3000} and words.train.group_by_length
    rates = source_rates(words)
    assert rates.pop("gui-words-more") == rates.pop("gui-words-small-more") == pytest.approx(0.2)
    assert rates.pop("letters-medium") == pytest.approx(0.1)
    sims = source_rates(letters)
    del sims["letters"], sims["letters-medium"]
    assert rates == pytest.approx(sims)
    weights = {Path(d.path).parent.name: d.loss_weight for d in words.data.datasets}
    assert weights["gui-words-more"] == weights["gui-words-small-more"] == 9 and weights["letters-medium"] == 20


def test_the_words_stage_continues_from_its_kept_checkpoint_on_fresh_pictures():
    """Session 28: the words stage's last weights are kept in the repository (the shipped model's
    architecture and tokenizer), and the next config starts from them: small words three tenths of
    the rows, large a tenth, both from blocks the words stage never drew, the rest as there."""
    from safetensors import safe_open

    from molmo_agent.embedded import EMBEDDED_DIR
    from molmo_agent.training.config import TrainConfig

    words = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more-extra.yaml")
    more = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more2-extra.yaml")
    kept = KEPT.parent / "embedded-experiment-words-more-extra"
    assert Path(more.model.path) == kept.resolve()
    shapes = []
    for directory in (kept, EMBEDDED_DIR):
        with safe_open(str(directory / "model.safetensors"), "pt") as weights:
            shapes.append({key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()})
    assert shapes[0] == shapes[1] and len(shapes[0]) > 50
    assert (kept / "tokenizer.json").read_bytes() == (EMBEDDED_DIR / "tokenizer.json").read_bytes()
    assert vars(more.train) == vars(words.train) | {"steps": 1500}
    rates = source_rates(more)
    assert rates.pop("gui-words-small-more2") == pytest.approx(0.3)
    assert rates.pop("gui-words-more2") == pytest.approx(0.1)
    sims = source_rates(words)
    del sims["gui-words-more"], sims["gui-words-small-more"]
    assert rates == pytest.approx(sims)


def test_the_second_continuation_starts_from_the_first_ones_kept_end_on_fresh_pictures():
    """Session 29: the words stage continued again from the kept end of session 28's continuation,
    with the same mixture over 3,000 steps, on word blocks no earlier stage drew, each large enough
    that no picture comes round twice at its share of the rows."""
    from molmo_agent.training.config import TrainConfig

    words = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more-extra.yaml")
    first = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more2-extra.yaml")
    second = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more3-extra.yaml")
    assert Path(second.model.path) == (KEPT.parent / "embedded-experiment-words-more2-extra").resolve()
    assert vars(second.train) == vars(words.train) | {"steps": 3000}
    rates = source_rates(second)
    new_blocks = {"gui-words-more3": 0.09, "gui-words-small-more3": 0.155, "gui-words-small-more4": 0.155}
    pop_fresh_word_blocks(second, rates, new_blocks)
    earlier = source_rates(first)
    assert earlier.pop("gui-words-more2") + earlier.pop("gui-words-small-more2") == pytest.approx(sum(new_blocks.values()))
    assert rates == pytest.approx(earlier)


def test_the_third_continuation_starts_from_the_second_ones_kept_end_on_fresh_pictures():
    """Session 30: the words stage continued a third time from the kept end of session 29's run, with
    its mixture and length, the two small blocks' share now on one fresh small block, and every new
    block large enough that no picture comes round twice."""
    from molmo_agent.training.config import TrainConfig

    second = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more3-extra.yaml")
    third = TrainConfig.from_yaml(CONFIGS / "embedded-experiment-words-more4-extra.yaml")
    assert Path(third.model.path) == (KEPT.parent / "embedded-experiment-words-more3-extra").resolve()
    assert vars(third.train) == vars(second.train)
    rates = source_rates(third)
    new_blocks = {"gui-words-more4": 0.09, "gui-words-small-more5": 0.31}
    pop_fresh_word_blocks(third, rates, new_blocks)
    earlier = source_rates(second)
    drawn = [earlier.pop(block) for block in ("gui-words-more3", "gui-words-small-more3", "gui-words-small-more4")]
    assert sum(drawn) == pytest.approx(sum(new_blocks.values()))
    assert rates == pytest.approx(earlier)
