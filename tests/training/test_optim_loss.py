"""Per-module optimizer groups, warm-up + cosine schedule, clipping, and the token-normalised loss."""

import math

import pytest
import torch

from molmo_agent.training.errors import TrainConfigError
from molmo_agent.training.loss import loss_token_count, token_loss_sum
from molmo_agent.training.optim import GroupSettings, build_optimizer, clip_gradients, lr_factor, module_group
from tests.training.tiny_model import tiny_model


def test_module_groups_follow_official_names():
    assert module_group("model.vision_backbone.image_vit.transformer.resblocks.0.attention.wq.weight") == "vit"
    assert module_group("model.vision_backbone.image_projector.w1.weight") == "connector"
    assert module_group("model.vision_backbone.pad_embed") == "connector"
    assert module_group("model.transformer.blocks.1.att_proj.weight") == "llm"
    assert module_group("base_model.model.model.transformer.wte.embedding") == "llm"


def test_each_group_gets_its_own_rate_and_warmup_then_one_cosine():
    model = tiny_model()
    settings = {"vit": GroupSettings(1e-3, 10), "connector": GroupSettings(4e-3, 2), "llm": GroupSettings(2e-3, 10)}
    optimizer, scheduler = build_optimizer(model, settings, total_steps=100, final_lr_ratio=0.1)
    names = [g["name"] for g in optimizer.param_groups]
    assert sorted(names) == ["connector", "llm", "vit"]
    n_params = sum(len(g["params"]) for g in optimizer.param_groups)
    assert n_params == len(list(model.parameters()))
    lrs = []
    for _ in range(100):
        lrs.append({g["name"]: g["lr"] for g in optimizer.param_groups})
        optimizer.step()
        scheduler.step()
    assert lrs[0]["connector"] == pytest.approx(2e-3) and lrs[1]["connector"] == pytest.approx(4e-3)
    assert lrs[0]["vit"] == pytest.approx(1e-4) and lrs[9]["vit"] == pytest.approx(1e-3)
    assert lrs[99]["llm"] == pytest.approx(2e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 89 / 90))))
    assert all(lrs[i]["llm"] >= lrs[i + 1]["llm"] for i in range(10, 99))
    assert lr_factor(1000, 10, 100, 0.1) == pytest.approx(0.1)


def test_missing_group_rate_is_an_error():
    with pytest.raises(TrainConfigError, match="connector"):
        build_optimizer(tiny_model(), {"vit": GroupSettings(1e-3), "llm": GroupSettings(1e-3)}, total_steps=10)


def test_clipping_bounds_the_global_norm():
    model = tiny_model()
    for p in model.parameters():
        p.grad = torch.full_like(p, 10.0)
    norm = clip_gradients(model, 1.0)
    assert norm > 1.0
    total = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in model.parameters()))
    assert total == pytest.approx(1.0, rel=1e-4)


def _grads(model):
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_loss_normalisation_does_not_depend_on_accumulation_or_sequence_lengths():
    """Summed token loss / global token count: the gradient of one global batch is the same whether it is
    processed at once, in micro-batches of different lengths, or split across 'ranks' (simulated)."""
    torch.manual_seed(0)
    vocab = 300
    seqs = [torch.randint(0, vocab, (1, n)) for n in (12, 5, 9, 3)]
    labels = [s.clone() for s in seqs]
    labels[1][0, :3] = -100  # prompt tokens without loss

    def run(groups, world=1):
        model = tiny_model(vocab)
        model.zero_grad()
        n_global = sum(loss_token_count(lb) for lb in labels)
        for group in groups:  # each group: (one micro-batch of sequences of equal length)
            for i in group:
                loss = token_loss_sum(model(seqs[i]).logits, labels[i]) * world / n_global
                loss.backward()
        return _grads(model) / world

    together = run([[0, 1, 2, 3]])
    accumulated = run([[0], [1, 2], [3]])
    torch.testing.assert_close(together, accumulated, rtol=1e-5, atol=1e-7)
    # the naive per-micro-batch mean would weight the 3-token sequence like the 12-token one
    model = tiny_model(vocab)
    for i in range(4):
        (model(seqs[i], labels=labels[i]).loss / 4).backward()
    assert not torch.allclose(_grads(model), together, rtol=1e-3)


def test_activation_checkpointing_keeps_names_and_gradients():
    from molmo_agent.training.distributed import enable_activation_checkpointing

    ids = torch.randint(0, 300, (2, 11))
    reference = tiny_model()
    reference(ids, labels=ids).loss.backward()
    model = tiny_model()
    names = [n for n, _ in model.named_parameters()]
    enable_activation_checkpointing(model)
    assert [n for n, _ in model.named_parameters()] == names
    calls = []
    inner = next(m for m in model.model.transformer.blocks[0].modules() if isinstance(m, torch.nn.Linear))
    inner.register_forward_hook(lambda *args: calls.append(1))
    model(ids, labels=ids).loss.backward()
    assert len(calls) == 2  # forward, then recomputed in the backward pass
    torch.testing.assert_close(_grads(model), _grads(reference))
