"""Agent-layer benchmarks (issue 4): the HTTP server's request batching, and the point parser.

Every number is a ratio against a baseline measured in the same run:

- server: N concurrent clients send image chat requests to ``molmo-agent``'s server over loopback;
  batching (``max_batch_size`` > 1) vs the same server running one request at a time
  (``max_batch_size=1``). Throughput (requests/s) and latency (p50/p95) per setting. The model is a
  random-weight Molmo built here (real processor and model code; answers are gibberish, so every
  request decodes exactly ``max_new_tokens`` tokens or stops at the same place in every setting);
- parser: ``parse_points`` (grammar, validation, pixel conversion) vs a bare ``re.findall`` of the
  x/y attributes on the same answers (no validation), in answers per second.

    python benchmarks/bench_agent_server.py              # seconds (tiny model, 32 requests)
    python benchmarks/bench_agent_server.py --full --write-docs   # mid-size decoder, 96 requests
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from molmo_agent.backends import LocalMolmoBackend
from molmo_agent.images import to_data_url
from molmo_agent.parsing import parse_points
from molmo_agent.server import ServerConfig, start_server
from molmo_agent.training.tiny_checkpoint import build_random_checkpoint

ROOT = Path(__file__).resolve().parents[1]
MID_DECODER = dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2,
                   intermediate_size=2 * 1376)


def run_load(backend, batch_size: int, bodies: list[bytes], clients: int) -> dict:
    server = start_server(backend, ServerConfig(port=0, max_batch_size=batch_size, batch_wait_s=0.005,
                                                queue_size=len(bodies) + 1, request_timeout_s=600))

    def send(body: bytes) -> float:
        start = time.perf_counter()
        request = urllib.request.Request(server.url + "/v1/chat/completions", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            assert response.status == 200
            response.read()
        return time.perf_counter() - start

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = sorted(pool.map(send, bodies))
        wall = time.perf_counter() - start
        batches = list(server.worker.batches)
    finally:
        server.shutdown()
        server.server_close()
    return {"batch_size": batch_size, "requests": len(bodies), "wall_s": wall, "req_per_s": len(bodies) / wall,
            "p50_s": latencies[len(latencies) // 2], "p95_s": latencies[int(0.95 * (len(latencies) - 1))],
            "mean_batch": statistics.mean(batches)}


def bench_parser(repeats: int) -> dict:
    answers = ['<point x="61.5" y="40.2" alt="mug">mug</point>',
               '<points x1="10.0" y1="20.0" x2="30.5" y2="40.0" x3="55.1" y3="70.2" alt="cups">cups</points>',
               'Sure. The button is <point x="12.5" y="25.0" alt="Save">Save</point>.', "There are none."] * 25
    naive = re.compile(r'x\d*="([\d.]+)"\s+y\d*="([\d.]+)"')
    start = time.perf_counter()
    for _ in range(repeats):
        for text in answers:
            naive.findall(text)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        for text in answers:
            parse_points(text, (1280, 720))
    ours = time.perf_counter() - start
    n = repeats * len(answers)
    return {"answers": n, "parse_points_per_s": n / ours, "regex_per_s": n / baseline, "cost_ratio": ours / baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "1")),
                        help="torch intra-op threads (1 avoids thrashing on a shared machine)")
    parser.add_argument("--write-docs", action="store_true", help="replace this benchmark's section of docs/performance.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    requests, clients, new_tokens = (96, 32, 32) if args.full else (32, 16, 8)
    batch_sizes = [1, 4, 16] if args.full else [1, 8]
    overrides = MID_DECODER if args.full else {}
    checkpoint = build_random_checkpoint(tempfile.mkdtemp(prefix="bench-agent-"), seed=0, **overrides)
    backend = LocalMolmoBackend.from_pretrained(str(checkpoint), max_new_tokens=new_tokens, max_batch_size=64)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for _ in range(4)]
    bodies = [json.dumps({"max_tokens": new_tokens, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": to_data_url(images[i % 4])}},
        {"type": "text", "text": f"Point to the red mug number {i}."}]}]}).encode() for i in range(requests)]
    run_load(backend, 4, bodies[:4], 4)  # warm-up
    server_rows = [run_load(backend, size, bodies, clients) for size in batch_sizes]
    parser_row = bench_parser(20 if args.full else 5)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads"
    lines = [f"Machine: {machine}. Model: random-weight Molmo, decoder {'512x8' if args.full else '64x2'}, "
             f"ViT 32x10, 320x240 images, {new_tokens} new tokens; {requests} requests from {clients} clients.", "",
             "| max_batch_size | req/s | vs batch 1 | p50 latency s | p95 latency s | mean batch |",
             "|---|---|---|---|---|---|"]
    base = server_rows[0]["req_per_s"]
    for row in server_rows:
        lines.append(f"| {row['batch_size']} | {row['req_per_s']:.2f} | {row['req_per_s'] / base:.2f}x | "
                     f"{row['p50_s']:.2f} | {row['p95_s']:.2f} | {row['mean_batch']:.1f} |")
    lines += ["", f"Parser: parse_points {parser_row['parse_points_per_s']:,.0f} answers/s vs bare regex "
              f"{parser_row['regex_per_s']:,.0f} answers/s ({parser_row['cost_ratio']:.1f}x the cost, for grammar, "
              "validation and pixel conversion)."]
    report = "\n".join(lines)
    print(report)
    if args.write_docs:
        write_section(report, "full" if args.full else "default")


def write_section(report: str, setting: str) -> None:
    path = ROOT / "docs" / "performance.md"
    start, end = "<!-- agent-server:start -->", "<!-- agent-server:end -->"
    section = (f"{start}\n## Agent layer: server batching and parsing (issue 4)\n\n"
               f"`python benchmarks/bench_agent_server.py{' --full' if setting == 'full' else ''}`\n\n{report}\n{end}")
    text = path.read_text() if path.exists() else "# Performance\n"
    if start in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
