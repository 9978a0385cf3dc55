"""The three decoder families (Qwen2-, OLMo- and OLMoE-style) on random tiny configs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from molmo_agent.model import MolmoForCausalLM
from tests.model.conftest import tiny_model

NO_EOS = [-1]


def random_image_inputs(batch: int = 1, crops: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs in the processor's layout: tokens with 144 image positions per crop."""
    generator = torch.Generator().manual_seed(seed)
    length = 10 + crops * 144
    input_ids = torch.randint(0, 120, (batch, length), generator=generator)
    images = torch.randn(batch, crops, 576, 588, generator=generator)
    image_masks = torch.rand(batch, crops, 576, generator=generator).clamp(0, 1)
    image_masks[:, :, :50] = 0  # fully padded patches
    idx = torch.arange(5, 5 + crops * 144).view(crops, 144).expand(batch, crops, 144).clone()
    idx[:, -1, -10:] = -100  # pooled features dropped at the overlap margins
    return dict(input_ids=input_ids, images=images, image_masks=image_masks, image_input_idx=idx)


def test_save_load_forward_generate(tmp_path, decoder_kind):
    model = tiny_model(decoder_kind)
    inputs = random_image_inputs()
    model.save_pretrained(tmp_path / decoder_kind)
    reloaded = MolmoForCausalLM.from_pretrained(tmp_path / decoder_kind)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, model(**inputs).logits, rtol=0, atol=0)
    tokens = reloaded.generate(**inputs, max_new_tokens=5, eos_token_id=NO_EOS)
    assert tokens.shape == (1, inputs["input_ids"].shape[1] + 5)
    assert torch.equal(tokens, model.generate(**inputs, max_new_tokens=5, eos_token_id=NO_EOS))


def test_kv_cache_equals_full_recompute(decoder_kind):
    model = tiny_model(decoder_kind)
    inputs = random_image_inputs()
    tokens, step_logits = model.generate(**inputs, max_new_tokens=6, eos_token_id=NO_EOS, return_step_logits=True)
    with torch.no_grad():
        full = model(tokens, images=inputs["images"], image_masks=inputs["image_masks"],
                     image_input_idx=inputs["image_input_idx"]).logits
    prompt_length = inputs["input_ids"].shape[1]
    torch.testing.assert_close(step_logits[0], full[0, prompt_length - 1 : -1], atol=1e-5, rtol=1e-5)


def test_images_change_the_output_and_padding_crops_do_not(decoder_kind):
    model = tiny_model(decoder_kind)
    inputs = random_image_inputs(crops=2)
    with torch.no_grad():
        with_image = model(**inputs).logits
        text_only = model(inputs["input_ids"]).logits
        padded = dict(inputs)
        padded["images"] = torch.cat([inputs["images"], torch.full((1, 1, 576, 588), -1.0)], dim=1)
        padded["image_masks"] = torch.cat([inputs["image_masks"], torch.full((1, 1, 576), -1.0)], dim=1)
        padded["image_input_idx"] = torch.cat([inputs["image_input_idx"], torch.full((1, 1, 144), -100)], dim=1)
        with_padding_crop = model(**padded).logits
    assert (with_image - text_only).abs().max() > 1e-3
    torch.testing.assert_close(with_padding_crop, with_image, atol=1e-6, rtol=0)


def test_left_padded_batch_equals_separate_rows(decoder_kind):
    model = tiny_model(decoder_kind)
    generator = torch.Generator().manual_seed(3)
    long_row, short_row = torch.randint(0, 120, (12,), generator=generator), torch.randint(0, 120, (7,), generator=generator)
    batch = torch.stack([long_row, torch.cat([torch.zeros(5, dtype=torch.long), short_row])])
    mask = torch.ones_like(batch)
    mask[1, :5] = 0
    together = model.generate(batch, attention_mask=mask, max_new_tokens=5, eos_token_id=NO_EOS)
    alone = [model.generate(row[None], max_new_tokens=5, eos_token_id=NO_EOS)[0, -5:] for row in (long_row, short_row)]
    assert together[0, -5:].tolist() == alone[0].tolist()
    assert together[1, -5:].tolist() == alone[1].tolist()


def test_generation_stops_at_end_of_text_and_pads_finished_rows():
    model = tiny_model("qwen2")
    ids = torch.randint(0, 120, (2, 6), generator=torch.Generator().manual_seed(0))
    free = model.generate(ids, max_new_tokens=6, eos_token_id=NO_EOS)
    stop_token = int(free[0, 6])  # make row 0's first new token the end-of-text token
    stopped = model.generate(ids, max_new_tokens=6, eos_token_id=stop_token)
    assert stopped[0, 6] == stop_token and (stopped[0, 6:] == stop_token).all()
    if stop_token not in free[1, 6:].tolist():
        assert stopped.shape[1] == free.shape[1] and torch.equal(stopped[1], free[1])


def test_sampling_is_reproducible_with_a_generator_and_differs_from_greedy():
    model = tiny_model("qwen2")
    ids = torch.randint(0, 120, (1, 6), generator=torch.Generator().manual_seed(0))
    runs = [model.generate(ids, max_new_tokens=12, do_sample=True, temperature=5.0, eos_token_id=NO_EOS,
                           generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    greedy = model.generate(ids, max_new_tokens=12, eos_token_id=NO_EOS)
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], greedy)


def test_moe_layer_matches_a_per_token_reference():
    """Softmax over all experts, top-k, weights not renormalised; expert = down(silu(gate x) * up x)."""
    model = tiny_model("moe")
    moe = model.model.transformer.blocks[0].ffn
    experts = moe.experts.mlp
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(1))
    expected = torch.zeros_like(x)
    for b in range(2):
        for t in range(5):
            probs = F.softmax(moe.router.layer.weight @ x[b, t], dim=-1)
            for expert in probs.argsort(descending=True)[: moe.top_k].tolist():
                rows = slice(expert * 32, (expert + 1) * 32)  # moe_hidden_size 32
                hidden = F.silu(experts.w1[rows] @ x[b, t]) * (experts.v1[rows] @ x[b, t])
                expected[b, t] += probs[expert] * (experts.w2[rows].T @ hidden)
    with torch.no_grad():
        np.testing.assert_allclose(moe(x).numpy(), expected.detach().numpy(), atol=1e-6)


def test_packed_4d_mask_isolates_segments():
    """A block-diagonal mask with restarting positions equals running each segment alone."""
    model = tiny_model("qwen2")
    a, b = torch.randint(0, 120, (1, 6)), torch.randint(0, 120, (1, 4))
    packed = torch.cat([a, b], dim=1)
    segment = torch.tensor([0] * 6 + [1] * 4)
    causal = torch.tril(torch.ones(10, 10, dtype=torch.bool))
    mask = (causal & (segment[:, None] == segment[None, :]))[None, None]
    positions = torch.tensor([list(range(6)) + list(range(4))])
    with torch.no_grad():
        together = model(packed, attention_mask=mask, position_ids=positions).logits
        torch.testing.assert_close(together[:, :6], model(a).logits, atol=1e-5, rtol=0)
        torch.testing.assert_close(together[:, 6:], model(b).logits, atol=1e-5, rtol=0)
