"""Greedy answers from a trained model, with exactly the training layout (no answer appended).

    >>> predictor = Predictor.from_pretrained("runs/tiny/final")
    >>> predictor.answer(image, "Point to the red square.")
    '<point x="25.0" y="25.0" alt="red square">red square</point>'
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from molmo_agent.training.data.packing import format_prompt


class Predictor:
    """Wraps a model and its processor; one image + prompt -> decoded answer text."""

    def __init__(self, model: Any, processor: Any, max_new_tokens: int = 48) -> None:
        self.model = model.eval()
        self.processor = processor
        self.max_new_tokens = max_new_tokens

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, max_new_tokens: int = 48, **processor_kwargs: Any) -> Predictor:
        from molmo_agent.model import MolmoForCausalLM, MolmoProcessor

        model = MolmoForCausalLM.from_pretrained(path, dtype=torch.float32)
        return cls(model, MolmoProcessor.from_pretrained(path, **processor_kwargs), max_new_tokens)

    def inputs(self, image: Any, prompt: str) -> dict[str, torch.Tensor]:
        tokenizer = self.processor.tokenizer
        ids = [self.processor.eos_token_id]
        out: dict[str, torch.Tensor] = {}
        if image is not None:
            pre = self.processor.image_processor.preprocess(image)
            idx = np.where(pre.image_input_idx >= 0, pre.image_input_idx + len(ids), pre.image_input_idx)
            ids += pre.image_token_ids.tolist()
            out = {"images": torch.from_numpy(np.asarray(pre.images, dtype=np.float32))[None],
                   "image_masks": torch.from_numpy(np.asarray(pre.image_masks, dtype=np.float32))[None],
                   "image_input_idx": torch.from_numpy(idx.astype(np.int64))[None]}
        ids += list(tokenizer.encode(format_prompt(prompt), add_special_tokens=False))
        out["input_ids"] = torch.tensor([ids], dtype=torch.long)
        return out

    @torch.no_grad()
    def answer(self, image: Any, prompt: str) -> str:
        inputs = self.inputs(image, prompt)
        device = self.model.device
        inputs = {k: v.to(device) for k, v in inputs.items()}
        out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                  eos_token_id=self.processor.eos_token_id)
        new = out[0, inputs["input_ids"].shape[1]:].tolist()
        return self.processor.decode(new, skip_special_tokens=True).strip()
