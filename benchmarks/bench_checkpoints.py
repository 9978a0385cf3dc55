"""Training checkpoints under FSDP2: ``checkpoint_format: sharded`` (DCP, every rank writes) vs ``full``.

Both arms save and then load the same FSDP2-sharded model + AdamW state with 2 (``--world``) gloo processes
on this machine, through the trainer's own ``save_checkpoint`` / ``load_checkpoint``; the
baseline is the full format (state gathered on rank 0), measured in the same run. Reported per
arm: save and load seconds (median of the repeats), bytes on disk, and how much rank 0's peak
resident memory grew during the saves (the full format gathers every tensor on rank 0; the
sharded one does not). Each arm runs in fresh processes, so the peaks do not mix.

    python benchmarks/bench_checkpoints.py           # small decoder (seconds)
    python benchmarks/bench_checkpoints.py --full    # ~200M parameters
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

SMALL = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=1024, vocab_size=2048, embedding_size=2048)
FULL = dict(hidden_size=1024, num_hidden_layers=12, num_attention_heads=16, num_key_value_heads=4,
            intermediate_size=4096, vocab_size=16384, embedding_size=16384)
VISION = dict(image_emb_dim=64, image_num_heads=4, image_head_dim=16, image_num_key_value_heads=4,
              image_num_layers=2, image_mlp_dim=128)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _worker(rank: int, world: int, init_file: str, decoder: dict, run_dir: str, fmt: str, repeats: int,
            results: dict) -> None:
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    from molmo_agent.model import MolmoConfig, MolmoForCausalLM
    from molmo_agent.training.checkpointing import load_checkpoint, save_checkpoint
    from molmo_agent.training.distributed import shard_model
    from molmo_agent.training.optim import GroupSettings, build_optimizer

    model = MolmoForCausalLM(MolmoConfig(**decoder, vision_backbone=VISION, vit_layers=[-1])).init_weights(seed=0)
    shard_model(model)
    optimizer, scheduler = build_optimizer(model, {g: GroupSettings(1e-4) for g in ("vit", "connector", "llm")}, 10)
    ids = torch.randint(0, decoder["vocab_size"], (1, 16))
    model(ids, labels=ids).loss.backward()  # AdamW state exists for the decoder (the ViT has no gradient here)
    optimizer.step()
    optimizer.zero_grad()
    before = _peak_rss_mb()
    saves, loads = [], []
    for step in range(1, repeats + 1):
        dist.barrier()
        began = time.perf_counter()
        path = save_checkpoint(run_dir, step, model, optimizer, scheduler, {}, keep=1, checkpoint_format=fmt)
        saves.append(time.perf_counter() - began)
    save_peak = _peak_rss_mb() - before
    for _ in range(repeats):
        dist.barrier()
        began = time.perf_counter()
        load_checkpoint(path, model, optimizer, scheduler)
        loads.append(time.perf_counter() - began)
    if rank == 0:
        size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
        results[fmt] = {"save_s": statistics.median(saves), "load_s": statistics.median(loads),
                        "disk_mb": size / 2**20, "rank0_peak_growth_mb": save_peak,
                        "params_m": sum(p.numel() for p in model.parameters()) / 1e6}
    dist.barrier()
    dist.destroy_process_group()


def measure(fmt: str, decoder: dict, repeats: int, world: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp, mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_worker, args=(world, str(Path(tmp) / "init"), decoder, str(Path(tmp) / "run"), fmt, repeats, results),
                 nprocs=world, join=True)
        return dict(results[fmt])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="~200M-parameter decoder instead of the small one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--world", type=int, default=2, help="gloo processes (the machine's cores are shared)")
    args = parser.parse_args()
    decoder = FULL if args.full else SMALL
    rows = {fmt: measure(fmt, decoder, args.repeats, args.world) for fmt in ("full", "sharded")}
    base = rows["full"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.world} gloo processes, "
          f"{base['params_m']:.1f}M parameters, median of {args.repeats}")
    print("| format | save s | load s | on disk MB | rank-0 peak RSS growth while saving MB | save vs full |")
    print("|---|---|---|---|---|---|")
    for fmt, r in rows.items():
        print(f"| {fmt} | {r['save_s']:.2f} | {r['load_s']:.2f} | {r['disk_mb']:.0f} | "
              f"{r['rank0_peak_growth_mb']:.0f} | {base['save_s'] / r['save_s']:.2f}x |")


if __name__ == "__main__":
    main()
