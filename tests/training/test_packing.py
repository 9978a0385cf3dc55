"""Multi-annotation packing, attention masks, position ids, truncation reports, collation."""

import numpy as np
import pytest

from molmo_agent.training.data.example import Example, Turn
from molmo_agent.training.data.packing import IGNORE_INDEX, Packer, attention_mask_from_segments, collate
from molmo_agent.training.errors import PackingError
from tests.training.helpers import FakeImageInputs


def _packer(tok, max_length=2304, tokens=10):
    return Packer(tok.encode, tok.eos_token_id, lambda image: FakeImageInputs(tokens), max_length)


def test_layout_labels_positions_and_image_index_shift(small_tokenizer):
    tok = small_tokenizer
    ex = Example(image=b"unused", annotations=[[Turn("Point to the mug.", "mug")], [Turn("hello", "there")]])
    seq = _packer(tok).pack(ex, image=object())
    prefix = 1 + 10
    assert seq.input_ids[0] == tok.eos_token_id
    assert (seq.segment_ids[:prefix] == 0).all()
    first = tok.encode(" User: Point to the mug. Assistant:")
    answer = tok.encode(" mug") + [tok.eos_token_id]
    n1 = len(first) + len(answer)
    assert seq.input_ids[prefix : prefix + n1].tolist() == first + answer
    # loss only on the answer and its eos
    assert (seq.labels[: prefix + len(first)] == IGNORE_INDEX).all()
    assert seq.labels[prefix + len(first) : prefix + n1].tolist() == answer
    # positions restart after the prefix for the second annotation
    second_start = prefix + n1
    assert seq.position_ids[second_start] == prefix == seq.position_ids[prefix]
    assert (seq.segment_ids[second_start:] == 2).all()
    # image_input_idx shifted by the separator; -100 stays
    assert seq.image_input_idx[0, :4].tolist() == [2, 3, 4, 5] and seq.image_input_idx[0, 4] == -100
    assert not seq.is_text[1:prefix].any() and seq.is_text[0] and seq.is_text[prefix:].all()


def test_attention_mask_annotations_cannot_see_each_other():
    seg = np.array([0, 0, 1, 1, 2, 2, -1])
    m = attention_mask_from_segments(seg)
    assert m[3, 2] and m[3, 0] and not m[2, 3]          # causal inside an annotation, sees prefix
    assert not m[4, 2] and not m[5, 3] and m[5, 4] and m[4, 1]  # annotation 2 cannot see annotation 1
    assert m[6].tolist() == [False] * 6 + [True]        # padding sees itself only


def test_packed_annotations_match_their_unpacked_logits(small_tokenizer):
    """With the mask and restarted positions, each annotation's logits equal those it gets alone."""
    import torch

    from molmo_agent.model import MolmoConfig, MolmoForCausalLM

    tok = small_tokenizer
    config = MolmoConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=64, vocab_size=tok.base_vocab_size, embedding_size=tok.base_vocab_size,
                         vision_backbone=dict(image_emb_dim=16, image_num_heads=2, image_head_dim=8,
                                              image_num_key_value_heads=2, image_num_layers=3, image_mlp_dim=32),
                         vit_layers=[-1, -2])
    model = MolmoForCausalLM(config).init_weights(seed=0).eval()
    packer = Packer(tok.encode, tok.eos_token_id, None)
    turns = [[Turn("Point to the mug.", "mug")], [Turn("hello there", "red square")]]
    packed = collate([packer.pack(Example(None, turns))])
    alone = collate([packer.pack(Example(None, [turns[1]]))])
    with torch.no_grad():
        lp = model(packed["input_ids"], attention_mask=packed["attention_mask"], position_ids=packed["position_ids"]).logits
        la = model(alone["input_ids"], attention_mask=alone["attention_mask"], position_ids=alone["position_ids"]).logits
    second = packed["position_ids"].shape[1] - alone["input_ids"].shape[1] + 1
    torch.testing.assert_close(lp[0, second:], la[0, 1:], atol=1e-5, rtol=1e-5)


def test_truncation_drops_whole_later_annotations_and_reports(small_tokenizer):
    tok = small_tokenizer
    long_answer = "a red square " * 20
    ex = Example(None, [[Turn("describe", long_answer)], [Turn("describe", long_answer)], [Turn("x", "y")]])
    n_first = len(tok.encode(" User: describe Assistant:")) + len(tok.encode(" " + long_answer)) + 1
    seq = _packer(tok, max_length=1 + n_first + 3).pack(ex)
    assert seq.stats.dropped_annotations == 2 and seq.stats.truncated_annotations == 0
    assert len(seq) == 1 + n_first
    seq = _packer(tok, max_length=20).pack(ex)
    assert len(seq) == 20 and seq.stats.truncated_annotations == 1 and seq.stats.truncated_tokens > 0


def test_image_longer_than_limit_is_a_clear_error(small_tokenizer):
    with pytest.raises(PackingError, match="image alone"):
        _packer(small_tokenizer, max_length=12, tokens=40).pack(Example(b"x", [[Turn("a", "b")]]), image=object())


def test_collate_pads_tokens_labels_and_images(small_tokenizer):
    tok = small_tokenizer
    packer = _packer(tok)
    with_image = packer.pack(Example(b"x", [[Turn("a", "b")]]), image=object())
    text_only = Packer(tok.encode, tok.eos_token_id, None).pack(Example(None, [[Turn("a longer prompt here", "b")]]))
    batch = collate([with_image, text_only], pad_token_id=tok.eos_token_id)
    T = max(len(with_image), len(text_only))
    assert batch["input_ids"].shape == (2, T) and batch["attention_mask"].shape == (2, 1, T, T)
    assert batch["images"].shape == (2, 2, 576, 588)
    assert (batch["images"][1] == -1).all() and (batch["image_input_idx"][1] == -100).all()
    assert (batch["labels"][0, len(with_image):] == IGNORE_INDEX).all()
    assert batch["packing_stats"].sequences == 2


def test_trainer_applies_residual_dropout_to_text_tokens_only_in_pretraining_mode(small_tokenizer):
    import torch

    from molmo_agent.training.trainer import _model_inputs

    seq = _packer(small_tokenizer).pack(Example(b"x", [[Turn("a", "b")]]), image=object())
    batch = collate([seq])
    text_only = _model_inputs(batch, torch.device("cpu"), "text")["text_dropout_mask"]
    assert text_only.dtype == torch.bool and not text_only[0, 1:11].any() and text_only[0, 11:].all()
    assert _model_inputs(batch, torch.device("cpu"), "all")["text_dropout_mask"].all()
