"""LoRA and QLoRA (bitsandbytes nf4 runs on CPU): adapters train, export, and merge exactly."""

import pytest
import torch

from molmo_agent.model import MolmoForCausalLM
from molmo_agent.training.config import TrainConfig
from molmo_agent.training.lora import export_lora, quantize_decoder_4bit
from molmo_agent.training.trainer import apply_lora
from tests.training.tiny_model import tiny_model

LORA = {"run_dir": "unused", "model": {"config": {}, "tokenizer": "unused"},
        "data": {"datasets": [{"type": "conversations", "path": "unused"}]}}


def _peft(model, **lora):
    config = TrainConfig.from_dict({**LORA, "lora": {"enabled": True, "r": 4, "alpha": 8, **lora}})
    peft_model = apply_lora(model, config)
    torch.manual_seed(1)
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:  # B starts at zero; give the adapters something to merge
            param.data.normal_(0, 0.05)
    return peft_model


def test_lora_trains_only_adapters_and_merges_to_the_same_logits(tmp_path):
    model = _peft(tiny_model())
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any("blocks.0.att_proj" in n for n in trainable) and any("transformer.ff_out" in n for n in trainable)
    ids = torch.randint(0, 300, (1, 9))
    with torch.no_grad():
        expected = model(ids).logits
    base_vit = tiny_model().model.vision_backbone.image_vit.patch_embedding.weight
    export_lora(model, model.base_model.model.config, tmp_path / "out")
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").exists()
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").exists()
    merged = MolmoForCausalLM.from_pretrained(tmp_path / "out", dtype=torch.float32)
    torch.testing.assert_close(merged(ids).logits, expected, rtol=1e-4, atol=1e-5)
    assert torch.equal(merged.model.vision_backbone.image_vit.patch_embedding.weight, base_vit)


def test_qlora_4bit_decoder_trains_on_cpu_and_exports_dequantized(tmp_path):
    pytest.importorskip("bitsandbytes")
    model = tiny_model()
    ids = torch.randint(0, 300, (2, 9))
    with torch.no_grad():
        full = model(ids).logits
    assert quantize_decoder_4bit(model) == 2 * 4
    assert type(model.model.transformer.blocks[0].att_proj).__name__ == "Linear4bit"
    with torch.no_grad():
        quantized = model(ids).logits
    assert 0 < (quantized - full).abs().max() < 0.5 * full.abs().max()  # nf4 error, not garbage
    model = _peft(model, target_modules=["att_proj", "attn_out", "ff_proj"])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(5):
        loss = model(ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    with torch.no_grad():
        expected = model(ids).logits
    export_lora(model, model.base_model.model.config, tmp_path / "q")
    merged = MolmoForCausalLM.from_pretrained(tmp_path / "q", dtype=torch.float32)
    torch.testing.assert_close(merged(ids).logits, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_lora_fine_tune_of_an_exported_checkpoint_through_the_trainer(tiny_setup, tmp_path):
    """model.path (official-format directory with its tokenizer) + lora: adapter and merged model exported."""
    import torch
    import yaml

    from molmo_agent.model import MolmoForCausalLM
    from molmo_agent.training.checkpointing import export_pretrained
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import build_model, load_processor
    from tests.training.conftest import tiny_train_config

    base = TrainConfig.from_dict(tiny_train_config(tiny_setup, tmp_path / "unused"))
    processor = load_processor(base)
    model = build_model(base, processor)
    export_pretrained(model, model.config, tmp_path / "base")
    processor.save_pretrained(tmp_path / "base")

    config = tiny_train_config(tiny_setup, tmp_path / "lora", steps=2, global_batch_size=2, micro_batch_size=1)
    config["model"] = {"path": str(tmp_path / "base"), "max_crops": 1}
    config["lora"] = {"enabled": True, "r": 4, "alpha": 8}
    config["train"]["lr"] = {"vit": 0.0, "connector": 0.0, "llm": 5e-2}
    (tmp_path / "lora.yaml").write_text(yaml.safe_dump(config))
    from molmo_agent.cli import main as cli_main

    assert cli_main(["train", str(tmp_path / "lora.yaml"), "--no-progress"]) == 0
    final = tmp_path / "lora" / "final"
    assert (final / "adapter" / "adapter_model.safetensors").exists()
    merged = MolmoForCausalLM.from_pretrained(final, dtype=torch.float32)
    before = MolmoForCausalLM.from_pretrained(tmp_path / "base", dtype=torch.float32)
    changed = [n for n, p in merged.named_parameters() if not torch.equal(p, dict(before.named_parameters())[n])]
    assert changed and all(n.startswith("model.transformer.") for n in changed)
