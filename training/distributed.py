"""torch.distributed set-up and FSDP2 sharding for Molmo.

One script for every scale: run it with ``python`` (one process) or ``torchrun`` (one process per
device, any number of nodes). The process group uses NCCL on GPUs and gloo on CPUs (tests).
FSDP2 (``torch.distributed.fsdp.fully_shard``) shards each decoder block and each ViT block as its
own unit, then the rest (embeddings, connector, output layer) at the root. Mixed precision keeps
float32 master weights and optimizer state; compute runs in bf16/fp16, gradients reduce in float32.

    >>> rank, world, device = setup_distributed()
    >>> shard_model(model, mixed_precision="bf16")
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def setup_distributed() -> tuple[int, int, torch.device]:
    """Join the torchrun process group when there is one; returns (rank, world size, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def teardown_distributed(wait_for_all: bool = False) -> None:
    """Leave the process group. ``wait_for_all`` (after a run every rank finished) first waits at a
    barrier, so that no rank tears its connections down while a peer still uses them: a gloo rank
    that did so once aborted at exit ("terminate called without an active exception") after a
    finished run. After an error there is no barrier, which a rank that died would never reach."""
    if dist.is_available() and dist.is_initialized():
        if wait_for_all:
            dist.barrier()
        dist.destroy_process_group()


def decoder_blocks(model: nn.Module) -> list[nn.Module]:
    return list(_molmo(model).model.transformer.blocks)


def vit_blocks(model: nn.Module) -> list[nn.Module]:
    return list(_molmo(model).model.vision_backbone.image_vit.transformer.resblocks)


def _molmo(model: nn.Module) -> nn.Module:
    """The MolmoForCausalLM inside peft wrappers."""
    while not hasattr(model, "model") or not hasattr(model.model, "transformer"):
        inner = getattr(model, "base_model", None) or getattr(model, "model", None)
        if inner is None or inner is model:
            raise TypeError(f"{type(model).__name__} does not contain a Molmo model")
        model = inner
    return model


def shard_model(model: nn.Module, mixed_precision: str = "none", reshard_after_forward: bool = True) -> nn.Module:
    """Apply FSDP2 to the ViT blocks, the decoder blocks and the root (in place).

    QLoRA's bitsandbytes 4-bit weights are left out (``ignored_params``): FSDP2 can neither split
    nor all-gather their packed storage and quantization state, so every rank keeps its own whole,
    frozen copy (7B in nf4 is ~4 GB), while the adapters and all other weights are sharded.
    """
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    from molmo_agent.training.lora import quantized_params

    kwargs = {"reshard_after_forward": reshard_after_forward}
    ignored = quantized_params(model)
    if ignored:
        kwargs["ignored_params"] = ignored
    if mixed_precision in DTYPES:
        kwargs["mp_policy"] = MixedPrecisionPolicy(param_dtype=DTYPES[mixed_precision], reduce_dtype=torch.float32)
    for block in vit_blocks(model) + decoder_blocks(model):
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def enable_activation_checkpointing(model: nn.Module) -> None:
    """Recompute each decoder and ViT block in the backward pass (saves activation memory).

    The block's ``forward`` is wrapped in place, so parameter names (and checkpoints) do not change.
    """
    from functools import wraps

    from torch.utils.checkpoint import checkpoint

    for block in decoder_blocks(model) + vit_blocks(model):
        original = block.forward

        @wraps(original)
        def forward(*args, _original=original, **kwargs):
            return checkpoint(_original, *args, use_reentrant=False, **kwargs)

        block.forward = forward
