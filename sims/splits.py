"""Train / held-out split of the procedural worlds by seed range.

Every environment and generator draws its episode from the seed alone, so a seed range is a split.
Seeds below ``HELD_OUT_SEED_START`` are for training data; seeds from it upward are held out for
evaluation. Nothing in molmo-agent generates training data from held-out seeds.

    from molmo_agent.sims.splits import held_out_seeds
    for seed in held_out_seeds(200):
        obs, info = env.reset(seed=seed)
"""

from __future__ import annotations

TRAIN_SEED_START = 0
HELD_OUT_SEED_START = 1_000_000
HELD_OUT_SEED_STOP = 2_000_000

TRAIN_SEEDS = range(TRAIN_SEED_START, HELD_OUT_SEED_START)
HELD_OUT_SEEDS = range(HELD_OUT_SEED_START, HELD_OUT_SEED_STOP)


def is_held_out(seed: int) -> bool:
    """True when ``seed`` belongs to the held-out (evaluation) range."""
    return seed >= HELD_OUT_SEED_START


def held_out_seeds(n: int, start: int = 0) -> range:
    """The first ``n`` held-out seeds (after skipping ``start`` of them)."""
    return range(HELD_OUT_SEED_START + start, HELD_OUT_SEED_START + start + n)


def train_seeds(n: int, start: int = 0) -> range:
    """The first ``n`` training seeds (after skipping ``start`` of them)."""
    if start + n > HELD_OUT_SEED_START:
        raise ValueError(f"only {HELD_OUT_SEED_START} training seeds exist")
    return range(start, start + n)
