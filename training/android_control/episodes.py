"""AndroidControl episodes from the release files (GZIP TFRecords of tf.train.Example + splits.json).

Features per episode (MOLMO_SPEC section 6): ``episode_id`` int64, ``goal`` bytes,
``screenshots`` PNG bytes list, ``screenshot_widths`` / ``screenshot_heights`` int64 lists,
``accessibility_trees`` bytes list, ``actions`` JSON bytes list (one fewer than screenshots),
``step_instructions`` bytes list (one per action).

Bad input never becomes a wrong label: a record with a bad checksum, an episode whose counts
disagree, or an action that does not parse is skipped and counted (``on_bad="skip"``) or raises
(``on_bad="error"``); screenshots that fail to decode are handled where they are decoded.

    >>> result = read_episodes(sorted(Path("android_control").glob("android_control*")))
    >>> print(result.skips.summary()); result.episodes[0].goal
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from molmo_agent.training.android_control.actions import Action
from molmo_agent.training.android_control.tfrecord import iter_examples
from molmo_agent.training.data.example import SkipCounter
from molmo_agent.training.errors import DataError, EpisodeError, RecordError


@dataclass
class Episode:
    """One AndroidControl episode, validated (n screenshots, n - 1 actions and instructions).

        >>> episode.goal, episode.num_steps, episode.actions[0].action_type
    """

    episode_id: int
    goal: str
    screenshots: list[bytes]
    sizes: list[tuple[int, int]]  # (width, height) per screenshot
    accessibility_trees: list[bytes]
    actions: list[Action]
    step_instructions: list[str]

    @property
    def num_steps(self) -> int:
        return len(self.actions)


@dataclass
class EpisodeSet:
    """Episodes read from shards and what was skipped (``skips.summary()``).

        >>> result = read_episodes(files); print(result.skips.summary())
    """

    episodes: list[Episode] = field(default_factory=list)
    skips: SkipCounter = field(default_factory=lambda: SkipCounter("android_control"))


def _one(features: dict, name: str) -> object:
    values = features.get(name)
    if not values:
        raise EpisodeError(f"missing feature {name!r}")
    return values[0]


def episode_from_features(features: dict) -> Episode:
    """Validate and convert one parsed tf.train.Example; EpisodeError says what disagrees."""
    episode_id = int(_one(features, "episode_id"))
    goal = _one(features, "goal").decode("utf-8")
    screenshots = list(features.get("screenshots", []))
    widths, heights = features.get("screenshot_widths", []), features.get("screenshot_heights", [])
    trees = list(features.get("accessibility_trees", []))
    raw_actions = features.get("actions", [])
    instructions = [s.decode("utf-8") for s in features.get("step_instructions", [])]
    where = f"episode {episode_id}"
    if len(raw_actions) != len(screenshots) - 1:
        raise EpisodeError(f"{where}: {len(raw_actions)} actions for {len(screenshots)} screenshots (expected one fewer)")
    if len(instructions) != len(raw_actions):
        raise EpisodeError(f"{where}: {len(instructions)} step instructions for {len(raw_actions)} actions")
    if not (len(widths) == len(heights) == len(screenshots)):
        raise EpisodeError(f"{where}: {len(widths)} widths / {len(heights)} heights for {len(screenshots)} screenshots")
    if trees and len(trees) != len(screenshots):
        raise EpisodeError(f"{where}: {len(trees)} accessibility trees for {len(screenshots)} screenshots")
    sizes = [(int(w), int(h)) for w, h in zip(widths, heights)]
    try:
        actions = [Action.from_json(a, screen=sizes[i]) for i, a in enumerate(raw_actions)]
    except DataError as error:
        raise EpisodeError(f"{where}: {error}") from error
    return Episode(episode_id, goal, screenshots, sizes, trees, actions, instructions)


def read_episodes(files: Iterable[str | os.PathLike], on_bad: str = "skip",
                  episode_ids: set[int] | None = None) -> EpisodeSet:
    """Every (valid) episode of the given TFRecord shards, optionally only ``episode_ids``."""
    if on_bad not in ("skip", "error"):
        raise DataError(f"on_bad must be 'skip' or 'error', got {on_bad!r}")
    result = EpisodeSet()
    for file in files:
        try:
            for features in iter_examples(file, on_corrupt=on_bad, skips=result.skips):
                try:
                    episode = episode_from_features(features)
                except (EpisodeError, DataError, UnicodeDecodeError, ValueError) as error:
                    if on_bad == "error":
                        raise EpisodeError(f"{file}: {error}") from error
                    reason = "inconsistent episode" if isinstance(error, EpisodeError) else "undecodable episode"
                    result.skips.skip(reason, f"{file}: {error}")
                    continue
                if episode_ids is None or episode.episode_id in episode_ids:
                    result.episodes.append(episode)
        except RecordError as error:
            if on_bad == "error":
                raise
            result.skips.skip("unreadable rest of file", f"{error}")
    return result


def read_splits(path: str | os.PathLike) -> dict[str, list[int]]:
    """``splits.json`` (or ``test_subsplits.json``): split name -> episode ids."""
    try:
        splits = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"cannot read splits file {path}: {error}") from error
    if not isinstance(splits, dict):
        raise DataError(f"{path}: expected an object of split name -> episode ids")
    return {name: [int(i) for i in ids] for name, ids in splits.items()}
