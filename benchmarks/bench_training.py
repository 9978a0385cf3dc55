"""Training throughput on CPU: multi-annotation packing vs one sequence per annotation.

Both arms train on the same annotations (K per image) with the same model and optimizer; the
baseline, measured in the same run, puts each annotation in its own sequence (the image is encoded
K times); the packed arm puts the K annotations of an image into one sequence with the
annotation-isolating mask (the image is encoded once). Also reports data-pipeline throughput
(image preprocessing + packing + collation) per sequence.

    python benchmarks/bench_training.py            # tiny model, a few steps (seconds)
    python benchmarks/bench_training.py --full     # wider model, more steps
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from molmo_agent.model import MolmoConfig, MolmoForCausalLM, MolmoProcessor
from molmo_agent.model.image_processing_molmo import MolmoImageProcessor
from molmo_agent.training.data.example import Example, Turn
from molmo_agent.training.data.packing import Packer, collate
from molmo_agent.training.loss import token_loss_sum
from molmo_agent.training.optim import GroupSettings, build_optimizer
from molmo_agent.training.tokenizer import train_tokenizer
from molmo_agent.training.trainer import rescale_connector_init

INPUTS = ("input_ids", "images", "image_masks", "image_input_idx", "attention_mask", "position_ids")


def _examples(n_images: int, k: int, rng: np.random.Generator) -> list[Example]:
    out = []
    for i in range(n_images):
        image = Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        turns = [[Turn(f"Point to object {j} of image {i}.", f'<point x="{rng.uniform(0, 100):.1f}" '
                       f'y="{rng.uniform(0, 100):.1f}" alt="object {j}">object {j}</point>')] for j in range(k)]
        out.append(Example(image, turns))
    return out


def _time_steps(model, batches, steps: int) -> float:
    groups = {g: GroupSettings(1e-4) for g in ("vit", "connector", "llm")}
    optimizer, _ = build_optimizer(model, groups, total_steps=steps + 1)
    began = None
    for step in range(steps + 1):  # the first step warms up and is not timed
        if step == 1:
            began = time.perf_counter()
        for batch in batches:
            n = int((batch["labels"][:, 1:] != -100).sum())
            (token_loss_sum(model(**{k: batch[k] for k in INPUTS}).logits, batch["labels"]) / n).backward()
        optimizer.step()
        optimizer.zero_grad()
    return (time.perf_counter() - began) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    width, layers, vit_width, steps, images, k = (256, 4, 64, 5, 8, 4) if args.full else (64, 2, 32, 2, 4, 4)
    rng = np.random.default_rng(0)
    examples = _examples(images, k, rng)
    with tempfile.TemporaryDirectory() as tmp:
        texts = [t.prompt + " " + t.answer for ex in examples for conv in ex.annotations for t in conv] * 5
        tok = train_tokenizer(texts, 400, tmp)
        MolmoImageProcessor(max_crops=2).save_pretrained(tmp)
        processor = MolmoProcessor.from_pretrained(Path(tmp))
        vocab = tok.base_vocab_size
    config = MolmoConfig(hidden_size=width, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=2 * width, vocab_size=vocab, embedding_size=vocab, vit_layers=[-1, -2],
                         vision_backbone=dict(image_emb_dim=vit_width, image_num_heads=4, image_head_dim=vit_width // 4,
                                              image_num_key_value_heads=4, image_num_layers=2, image_mlp_dim=2 * vit_width))
    packer = Packer.from_processor(processor, max_length=2304)

    began = time.perf_counter()
    packed_seqs = [packer.pack(ex) for ex in examples]
    pipeline_packed = (time.perf_counter() - began) / len(packed_seqs)
    began = time.perf_counter()
    single_seqs = [packer.pack(Example(ex.image, [conv])) for ex in examples for conv in ex.annotations]
    pipeline_single = (time.perf_counter() - began) / len(single_seqs)

    packed_batches = [collate(packed_seqs[i : i + 1]) for i in range(len(packed_seqs))]
    single_batches = [collate(single_seqs[i : i + 1]) for i in range(len(single_seqs))]
    model = MolmoForCausalLM(config).init_weights(seed=0)
    rescale_connector_init(model)
    t_single = _time_steps(model, single_batches, steps)
    model = MolmoForCausalLM(config).init_weights(seed=0)
    rescale_connector_init(model)
    t_packed = _time_steps(model, packed_batches, steps)
    annotations = images * k
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}; "
          f"model: decoder {width}x{layers}, ViT {vit_width}x2, max_crops 2, 320x240 images, {k} annotations/image, "
          f"{annotations} annotations per optimizer step")
    print("| layout | sequences/step | seconds/step | annotations/s | vs one-per-sequence |")
    print("|---|---|---|---|---|")
    print(f"| one annotation per sequence (baseline) | {len(single_batches)} | {t_single:.2f} | "
          f"{annotations / t_single:.1f} | 1.00x |")
    print(f"| packed, {k} annotations per sequence | {len(packed_batches)} | {t_packed:.2f} | "
          f"{annotations / t_packed:.1f} | {t_single / t_packed:.2f}x |")
    print(f"data pipeline (preprocess + pack), ms per sequence: packed {1000 * pipeline_packed:.1f}, "
          f"single {1000 * pipeline_single:.1f}")


if __name__ == "__main__":
    main()
