"""GPU benchmark (issue 9): a full-size random-weight Molmo-7B-D in bf16 and NF4 on one GPU.

Measures prefill time, decode time per token, peak memory, the memory planner's prediction next
to the real allocation, and decode bandwidth as a share of the GPU's memory bandwidth (batch-1
decoding reads every weight once per token, so bytes of weights / time per token is the
achieved bandwidth; the ratio to the GPU's peak is the physical bound). Needs CUDA.

    python benchmarks/bench_gpu.py --peak-bandwidth-gbs 3350   # H100 SXM HBM3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from molmo_agent.model import MolmoConfig, MolmoForCausalLM
from molmo_agent.model.memory import measured_weight_bytes, plan_memory

ROOT = Path(__file__).resolve().parents[1]


def random_model(config: MolmoConfig, profile: str, device: torch.device) -> MolmoForCausalLM:
    """Random weights straight on the device (a 7B-D checkpoint on disk would be 16 GB): built on
    the meta device, materialised on ``device``, then for NF4 the decoder linears quantized."""
    with torch.device("meta"):
        model = MolmoForCausalLM(config)
    model = model.to_empty(device=device).to(torch.bfloat16)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.02)
    if profile == "edge-nf4":
        import bitsandbytes as bnb

        from molmo_agent.model.quantization import quantize_decoder_linears_, quantized_weight

        originals = {name: module.weight.data for name, module in model.named_modules()
                     if name.startswith("model.transformer.blocks.") and name.rsplit(".", 1)[-1] in
                     ("att_proj", "attn_out", "ff_proj", "ff_out")}
        biases = {name: model.get_submodule(name).bias for name in originals}
        quantize_decoder_linears_(model, "nf4", torch.bfloat16)
        for name, weight in originals.items():
            module = model.get_submodule(name)
            assert isinstance(module, bnb.nn.Linear4bit)
            module.weight = quantized_weight(module, weight.cpu(), device)
            if biases[name] is not None:
                module.bias = biases[name]
        torch.cuda.empty_cache()
    return model.eval()


def measure(profile: str, prompt_tokens: int, new_tokens: int, peak_gbs: float) -> dict:
    device = torch.device("cuda")
    torch.cuda.reset_peak_memory_stats()
    model = random_model(MolmoConfig.from_release("Molmo-7B-D-0924"), profile, device)
    weight_bytes = measured_weight_bytes(model)
    predicted = plan_memory(model.config, profile).weight_bytes
    ids = torch.randint(0, 150000, (1, prompt_tokens), device=device)
    with torch.inference_mode():
        model.generate(ids, max_new_tokens=4, eos_token_id=[-1])  # warm-up
        prefills, totals = [], []
        for _ in range(3):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model.generate(ids, max_new_tokens=1, eos_token_id=[-1])
            torch.cuda.synchronize()
            prefills.append(time.perf_counter() - start)
            start = time.perf_counter()
            model.generate(ids, max_new_tokens=new_tokens, eos_token_id=[-1])
            torch.cuda.synchronize()
            totals.append(time.perf_counter() - start)
    prefill = statistics.median(prefills)
    decode = (statistics.median(totals) - prefill) / (new_tokens - 1)
    achieved_gbs = weight_bytes / decode / 1e9
    return {"profile": profile, "prefill_ms": prefill * 1000, "decode_ms_per_token": decode * 1000,
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30, "weights_gib": weight_bytes / 2**30,
            "planned_weights_gib": predicted / 2**30, "bandwidth_share": achieved_gbs / peak_gbs}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peak-bandwidth-gbs", type=float, default=3350.0, help="GPU memory bandwidth (H100 SXM: 3350)")
    parser.add_argument("--prompt-tokens", type=int, default=1207)
    parser.add_argument("--new-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA GPU; none is visible.", file=sys.stderr)
        return []
    rows = [measure(p, args.prompt_tokens, args.new_tokens, args.peak_bandwidth_gbs) for p in ("cuda-bf16", "edge-nf4")]
    print(f"GPU: {torch.cuda.get_device_name()}, prompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens")
    print("| profile | prefill | decode / token | peak memory | weights (planned) | decode bandwidth / peak |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['profile']} | {r['prefill_ms']:.0f} ms | {r['decode_ms_per_token']:.1f} ms | "
              f"{r['peak_memory_gib']:.1f} GiB | {r['weights_gib']:.2f} GiB ({r['planned_weights_gib']:.2f}) | "
              f"{100 * r['bandwidth_share']:.0f}% |")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
