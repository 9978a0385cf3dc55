"""The server under load on loopback with a small real Molmo (random weights, real processor and model).

Random weights make the answers gibberish, so the tests check plumbing: every request answered,
each with its own answer (the one the same backend gives for that request alone), batching in use,
over-limit requests refused with the right status, and the server healthy afterwards.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from molmo_agent.backends import GenerationRequest, LocalMolmoBackend
from molmo_agent.images import to_data_url

pytestmark = pytest.mark.slow

COLORS = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
THINGS = ["mug", "button", "chair", "door", "circle"]


@pytest.fixture(scope="module")
def backend(tiny_checkpoint, one_torch_thread):
    return LocalMolmoBackend.from_pretrained(str(tiny_checkpoint), max_new_tokens=8, max_batch_size=16)


SIZES = [(64, 48), (400, 120), (30, 200), (120, 120)]  # different crop counts: batches need padding


def _image(seed: int) -> Image.Image:
    width, height = SIZES[seed % len(SIZES)]
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_local_backend_batches_deterministically_and_reuses_the_image_prefix(backend):
    image = _image(1)
    prompts = [f"Point to the {c} mug." for c in COLORS[:3]]
    alone = [backend.generate([image], p) for p in prompts]
    assert alone == [backend.generate([image], p) for p in prompts]  # greedy: deterministic
    batched = backend.generate_batch([GenerationRequest([image], p) for p in prompts])
    assert batched == alone
    assert backend.generate_many(image, prompts) == alone
    mixed = [GenerationRequest([_image(i)], "Point to the door.") for i in range(4)]
    mixed.append(GenerationRequest([_image(0), _image(1)], "Point to the door."))
    assert backend.generate_batch(mixed) == [backend.generate(r.images, r.prompt) for r in mixed]
    texts = [f"Point to the {c} {t}." for c in COLORS[:4] for t in THINGS[:2]]
    assert backend.generate_batch([GenerationRequest([], t) for t in texts]) == [backend.generate([], t) for t in texts]
    assert len(set(backend.generate([], t) for t in texts)) > 1  # the answers do depend on the prompt


def test_two_hundred_concurrent_requests(backend, serve, http):
    server = serve(backend, queue_size=256, max_batch_size=16, batch_wait_s=0.02, request_timeout_s=60,
                   max_request_bytes=512 * 1024, max_image_pixels=100_000)
    # 200 requests: 100 text-only chats with distinct prompts, 60 chats with images, 20 /point,
    # 10 bodies over the size limit, 10 images over the pixel limit.
    jobs = []
    for i in range(100):
        prompt = f"Point to the {COLORS[i % 8]} {THINGS[i % 5]} number {i}."
        jobs.append(("chat", {"messages": [{"role": "user", "content": prompt}], "max_tokens": 8},
                     GenerationRequest([], prompt, 8)))
    for i in range(60):
        image, prompt = _image(i % 6), f"Point to the {COLORS[i % 8]} {THINGS[i % 5]}."
        jobs.append(("chat", http.chat_body(image, prompt), GenerationRequest([image], prompt, 8)))
    for i in range(20):
        image, prompt = _image(i % 3), f"Point to the {THINGS[i % 5]}."
        jobs.append(("point", {"image": to_data_url(image), "query": f"the {THINGS[i % 5]}", "max_tokens": 8},
                     GenerationRequest([image], prompt, 8)))
    for _ in range(10):
        jobs.append(("chat", {"messages": [{"role": "user", "content": "x" * 600_000}]}, 413))
    for _ in range(10):
        jobs.append(("point", {"image": to_data_url(Image.new("RGB", (400, 251))), "query": "x"}, 413))
    expected = {}
    for i, (_, _, want) in enumerate(jobs):  # each request alone, before the load
        if isinstance(want, GenerationRequest):
            expected[i] = backend.generate(want.images, want.prompt, want.max_new_tokens)
    order = list(range(len(jobs)))
    np.random.default_rng(0).shuffle(order)

    def send(i):
        route, body, _ = jobs[i]
        path = "/v1/chat/completions" if route == "chat" else "/point"
        return i, http.post(server.url + path, body, timeout=120)

    start = time.monotonic()
    with ThreadPoolExecutor(200) as pool:
        results = dict(pool.map(send, order))
    elapsed = time.monotonic() - start
    assert len(results) == 200
    for i, (route, _, want) in enumerate(jobs):
        status, reply = results[i]
        if want == 413:
            assert status == 413, (i, status, reply)
            continue
        assert status == 200, (i, status, reply)
        text = reply["choices"][0]["message"]["content"] if route == "chat" else reply["text"]
        assert text == expected[i], i  # its own answer, unchanged by batching with strangers
    assert server.counts == {"ok": 180, "client_error": 20, "overloaded": 0, "timeout": 0, "server_error": 0}
    assert sum(server.worker.batches) == 180 and max(server.worker.batches) > 1
    assert http.get(server.url + "/health")[0] == 200
    print(f"200 requests in {elapsed:.1f} s, {len(server.worker.batches)} batches")


def test_overload_is_refused_with_503_and_nothing_is_lost(backend, serve, http):
    gate = threading.Event()

    class Gated:  # the real backend, held until every request has arrived
        def generate_batch(self, requests):
            gate.wait(30)
            return backend.generate_batch(requests)

    server = serve(Gated(), queue_size=8, max_batch_size=4, batch_wait_s=0.05, request_timeout_s=60)
    image = _image(7)
    want = backend.generate([image], "Point to the door.", 8)
    body = http.chat_body(image, "Point to the door.")
    with ThreadPoolExecutor(60) as pool:
        futures = [pool.submit(http.post, server.url + "/v1/chat/completions", body) for _ in range(60)]
        deadline = time.monotonic() + 30
        while server.counts["overloaded"] < 60 - 12 and time.monotonic() < deadline:
            time.sleep(0.01)  # at most 4 in the worker's batch + 8 queued are accepted
        gate.set()
        results = [f.result() for f in futures]
    ok = [reply for status, reply in results if status == 200]
    refused = [reply for status, reply in results if status == 503]
    assert len(ok) + len(refused) == 60 and 9 <= len(ok) <= 12
    assert all(r["choices"][0]["message"]["content"] == want for r in ok)
    assert all(r["error"]["type"] == "overloaded" for r in refused)
    status, reply = http.post(server.url + "/v1/chat/completions", body)
    assert status == 200 and reply["choices"][0]["message"]["content"] == want
