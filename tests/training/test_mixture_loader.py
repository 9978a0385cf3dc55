"""Mixture rates, the deterministic sample schedule, and the worker-process data loader."""

import collections
import warnings

import numpy as np
import pytest
import torch

from molmo_agent.training.data.example import Example, Turn
from molmo_agent.training.data.loader import PackedDataset, build_loader
from molmo_agent.training.data.mixture import MixtureSchedule, mixture_rates
from molmo_agent.training.data.packing import Packer
from molmo_agent.training.data.sources import ListSource
from molmo_agent.training.errors import DataError, TrainConfigError


def test_rates_proportional_to_sqrt_size_with_overrides():
    rates = mixture_rates({"a": 100, "b": 400})
    assert rates == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    rates = mixture_rates({"a": 100, "b": 400}, multipliers={"a": 2.0})
    assert rates == pytest.approx({"a": 0.5, "b": 0.5})
    rates = mixture_rates({"a": 100, "b": 400, "c": 1}, fixed_rates={"c": 0.4})
    assert rates == pytest.approx({"a": 0.2, "b": 0.4, "c": 0.4})
    with pytest.raises(DataError):
        mixture_rates({"a": 1}, multipliers={"z": 2})
    # fixed shares over 1 by rounding name their sum, the number to fix
    with pytest.raises(DataError, match="got a sum of 1.0001"):
        mixture_rates({"a": 1, "b": 1}, fixed_rates={"a": 0.5001, "b": 0.5})


def test_schedule_follows_rates_and_visits_each_example_once_per_epoch():
    schedule = MixtureSchedule([900, 100], seed=3)
    picks = [schedule.locate(k) for k in range(20000)]
    share = collections.Counter(d for d, _ in picks)[1] / len(picks)
    assert abs(share - 0.25) < 0.015  # sqrt(100) / (sqrt(900) + sqrt(100))
    small = [i for d, i in picks if d == 1]
    assert sorted(small[:100]) == list(range(100))  # a permutation per epoch, no repeats
    assert small[:100] != small[100:200]
    again = MixtureSchedule([900, 100], seed=3)
    assert [again.locate(k) for k in (19999, 5, 4096, 4097)] == [picks[k] for k in (19999, 5, 4096, 4097)]
    assert MixtureSchedule([900, 100], seed=4).locate(7) != picks[7] or MixtureSchedule([900, 100], seed=4).locate(8) != picks[8]


def _dataset(tok, n=40, bad=(), on_bad="skip"):
    examples = []
    for i in range(n):
        image = b"not an image" if i in bad else None
        examples.append(Example(image, [[Turn(f"question {i}", f"answer {i}")]], source="toy"))
    return PackedDataset([ListSource("toy", examples)], Packer(tok.encode, tok.eos_token_id), seed=1, on_bad_example=on_bad)


def _ids(loader):
    return [b["input_ids"].clone() for b in loader]


def test_loader_is_deterministic_across_workers_resume_and_ranks(small_tokenizer):
    ds = _dataset(small_tokenizer)
    kwargs = dict(global_batch_size=8, micro_batch_size=2, num_steps=4, pad_token_id=0)
    plain = _ids(build_loader(ds, **kwargs))
    assert len(plain) == 4 * 4  # 4 steps x 4 micro-batches
    workers = _ids(build_loader(ds, num_workers=2, **kwargs))
    assert all(torch.equal(a, b) for a, b in zip(plain, workers, strict=True))
    resumed = _ids(build_loader(ds, start_step=2, **kwargs))
    assert all(torch.equal(a, b) for a, b in zip(plain[8:], resumed, strict=True))
    # two ranks, same global batch: rank 0 takes the first half of each step, rank 1 the second
    rank0 = _ids(build_loader(ds, rank=0, world_size=2, **kwargs))
    rank1 = _ids(build_loader(ds, rank=1, world_size=2, **kwargs))
    assert torch.equal(rank0[0], plain[0]) and torch.equal(rank1[0], plain[2]) and torch.equal(rank0[2], plain[4])


def _rows(batch) -> list[tuple[int, ...]]:
    """The rows of a collated micro-batch without their right padding (pad id 0; their eos, also 0, goes too)."""
    rows = [ids.tolist() for ids in batch["input_ids"]]
    return [tuple(row[: max(i for i, token in enumerate(row) if token != 0) + 1]) for row in rows]


def test_grouping_by_length_keeps_each_steps_rows_and_cuts_the_padding(small_tokenizer):
    """Answers of 1 to 40 words: grouped, each step has the same rows, its micro-batches come
    shortest first, and they hold fewer padded positions than the ungrouped ones."""
    examples = [Example(None, [[Turn(f"question {i}", " ".join(["word"] * (1 + (i * 7) % 40)))]], source="toy")
                for i in range(40)]
    ds = PackedDataset([ListSource("toy", examples)], Packer(small_tokenizer.encode, small_tokenizer.eos_token_id), seed=1)
    kwargs = dict(global_batch_size=8, micro_batch_size=2, num_steps=3, pad_token_id=0)
    plain = list(build_loader(ds, **kwargs))
    grouped_loader = build_loader(ds, group_by_length=True, **kwargs)
    grouped = list(grouped_loader)
    assert len(grouped) == len(grouped_loader) == len(plain) == 3 * 4
    padded = {"plain": 0, "grouped": 0}
    for step in range(3):
        for name, batches in (("plain", plain), ("grouped", grouped)):
            padded[name] += sum(b["input_ids"].numel() for b in batches[step * 4:(step + 1) * 4])
        rows = {name: sorted(r for b in batches[step * 4:(step + 1) * 4] for r in _rows(b))
                for name, batches in (("plain", plain), ("grouped", grouped))}
        assert rows["grouped"] == rows["plain"] and len(rows["plain"]) == 8
        lengths = [len(r) for b in grouped[step * 4:(step + 1) * 4] for r in _rows(b)]
        assert lengths == sorted(lengths)
    assert padded["grouped"] < padded["plain"]  # here 3,050 padded positions against 3,602
    workers = list(build_loader(ds, group_by_length=True, num_workers=2, **kwargs))
    assert all(torch.equal(a["input_ids"], b["input_ids"]) for a, b in zip(grouped, workers, strict=True))


def test_bad_image_is_replaced_and_counted_or_raises(small_tokenizer):
    ds = _dataset(small_tokenizer, n=6, bad={0, 1, 2, 3, 4, 5} - {5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seqs = [ds[k] for k in range(6)]
    assert sum(s.stats.skipped_examples for s in seqs) > 0
    assert any("cannot be decoded" in str(w.message) for w in caught)
    answer = small_tokenizer.encode(" answer 5")
    assert all(s.input_ids[-len(answer) - 1 : -1].tolist() == answer for s in seqs)  # only the good one survives
    strict = _dataset(small_tokenizer, n=6, bad={0, 1, 2, 3, 4}, on_bad="error")
    with pytest.raises(DataError, match="cannot be decoded"):
        [strict[k] for k in range(6)]


def test_batch_sizes_must_divide(small_tokenizer):
    with pytest.raises(TrainConfigError):
        build_loader(_dataset(small_tokenizer), global_batch_size=6, micro_batch_size=4, num_steps=1)


def test_example_randomness_comes_from_position_not_worker():
    from molmo_agent.training.data.mixture import example_rng

    a = example_rng(0, 123).integers(1 << 30, size=4)
    assert np.array_equal(a, example_rng(0, 123).integers(1 << 30, size=4))
    assert not np.array_equal(a, example_rng(0, 124).integers(1 << 30, size=4))
