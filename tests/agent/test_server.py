"""Server behaviour with a canned backend: routes, limits (413), queue (503), timeouts (504), batching.

The load test against the real tiny Molmo is in test_server_model.py.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from molmo_agent.backends import CannedBackend, OpenAIChatBackend
from molmo_agent.errors import BackendError
from molmo_agent.images import to_data_url

IMAGE = Image.new("RGB", (64, 48), "blue")


def test_routes_and_openai_client(serve, http):
    backend = CannedBackend(lambda images, prompt: f'<point x="50" y="50" alt="{prompt}">{len(images)}</point>')
    server = serve(backend, model_name="molmo-test")
    assert http.get(server.url + "/health")[1]["status"] == "ok"
    assert http.get(server.url + "/v1/models")[1]["data"][0]["id"] == "molmo-test"
    assert http.get(server.url + "/nope")[0] == 404
    status, reply = http.post(server.url + "/v1/chat/completions", http.chat_body(IMAGE, "Point to the sky."))
    assert status == 200 and reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"] == '<point x="50" y="50" alt="Point to the sky.">1</point>'
    # Our own remote backend talks to it (base URL with and without /v1).
    for base in (server.url, server.url + "/v1"):
        assert OpenAIChatBackend(base).generate([IMAGE], "hi") == '<point x="50" y="50" alt="hi">1</point>'
    png = io.BytesIO()
    IMAGE.save(png, format="PNG")
    status, reply = http.post(server.url + "/point", {"image": base64.b64encode(png.getvalue()).decode(), "query": "sky"})
    assert status == 200 and reply["image_size"] == [64, 48] and reply["prompt"] == "Point to sky."
    assert [(p["x"], p["y"]) for p in reply["points"]] == [(32.0, 24.0)]
    status, reply = http.post(server.url + "/point", {"image": to_data_url(IMAGE), "query": "birds", "all": True})
    assert reply["prompt"] == "Point to all birds."


@pytest.mark.parametrize("body,status", [
    ({"messages": []}, 400),
    ({"messages": [{"role": "user", "content": "no image is fine"}], "max_tokens": 0}, 400),
    ({"messages": [{"role": "user", "content": "x"}], "stream": True}, 400),
    ({"messages": [{"role": "wizard", "content": "x"}]}, 400),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}},
                                                {"type": "text", "text": "x"}]}]}, 400),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}},
                                                {"type": "text", "text": "x"}]}]}, 400),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,"
                                                 + base64.b64encode(b"not a png").decode()}},
                                                {"type": "text", "text": "x"}]}]}, 400),
    ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, 400),
])
def test_bad_chat_requests(serve, http, body, status):
    server = serve(CannedBackend("ok"))
    code, reply = http.post(server.url + "/v1/chat/completions", body)
    assert code == status and reply["error"]["code"] == status and reply["error"]["message"]


def test_bad_point_requests_and_bad_json(serve, http):
    server = serve(CannedBackend("ok"))
    assert http.post(server.url + "/point", {"image": to_data_url(IMAGE)})[0] == 400
    assert http.post(server.url + "/point", {"image": 5, "query": "x"})[0] == 400
    assert http.post(server.url + "/point", None, raw=b"{not json")[0] == 400
    assert http.get(server.url + "/health")[0] == 200  # still alive


def test_size_and_pixel_limits_are_413(serve, http):
    server = serve(CannedBackend("ok"), max_request_bytes=200_000, max_image_pixels=100 * 100,
                   max_images_per_request=2)
    big_body = {"messages": [{"role": "user", "content": "x" * 300_000}]}
    status, reply = http.post(server.url + "/v1/chat/completions", big_body)
    assert status == 413 and reply["error"]["type"] == "request_too_large"
    huge = Image.new("RGB", (101, 100))  # one column over the pixel limit, a tiny PNG
    status, reply = http.post(server.url + "/point", {"image": to_data_url(huge), "query": "x"})
    assert status == 413 and "pixels" in reply["error"]["message"]
    three = http.chat_body(IMAGE, "x")
    three["messages"][0]["content"] = three["messages"][0]["content"][:1] * 3 + [{"type": "text", "text": "x"}]
    assert http.post(server.url + "/v1/chat/completions", three)[0] == 413
    assert http.post(server.url + "/v1/chat/completions", http.chat_body(IMAGE, "fine"))[0] == 200


def test_full_queue_is_503_and_nothing_is_lost(serve, http):
    release = threading.Event()

    def slow(images, prompt):
        release.wait(10)
        return prompt

    server = serve(CannedBackend(slow), queue_size=2, max_batch_size=1, batch_wait_s=0.0)
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(http.post, server.url + "/v1/chat/completions",
                               {"messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(12)]
        deadline = time.monotonic() + 10
        while server.counts["overloaded"] < 9 and time.monotonic() < deadline:
            time.sleep(0.01)  # one running + two queued; the other nine are refused at once
        release.set()
        results = [f.result() for f in futures]
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] * 3 + [503] * 9
    answered = {reply["choices"][0]["message"]["content"] for code, reply in results if code == 200}
    assert len(answered) == 3  # each accepted request got its own answer
    assert http.get(server.url + "/health")[0] == 200


def test_timeout_is_504_and_the_worker_skips_the_abandoned_job(serve, http):
    release = threading.Event()
    backend = CannedBackend(lambda images, prompt: (release.wait(10), prompt)[1])
    server = serve(backend, request_timeout_s=0.3, max_batch_size=1, batch_wait_s=0.0)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(http.post, server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "a"}]})
        time.sleep(0.1)
        second = pool.submit(http.post, server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "b"}]})
        assert first.result()[0] == 504 and second.result()[0] == 504
    release.set()
    time.sleep(0.2)
    assert [prompt for _, prompt in backend.calls] == ["a"]  # "b" timed out in the queue and was dropped


def test_concurrent_requests_are_batched(serve, http):
    def batch_backend():
        backend = CannedBackend(lambda images, prompt: prompt)
        return backend

    server = serve(batch_backend(), max_batch_size=8, batch_wait_s=0.2)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: http.post(server.url + "/v1/chat/completions",
                                               {"messages": [{"role": "user", "content": f"q{i}"}]}), range(16)))
    assert sorted(r[1]["choices"][0]["message"]["content"] for r in results) == sorted(f"q{i}" for i in range(16))
    assert max(server.worker.batches) > 1 and sum(server.worker.batches) == 16


def test_backend_failure_is_500_and_server_survives(serve, http):
    def broken(images, prompt):
        raise RuntimeError("CUDA out of memory")

    server = serve(CannedBackend(broken))
    status, reply = http.post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
    assert status == 500 and "out of memory" in reply["error"]["message"]
    assert http.get(server.url + "/health")[0] == 200


def test_remote_backend_errors_are_typed(serve, http):
    with pytest.raises(BackendError, match="cannot reach"):
        OpenAIChatBackend("http://127.0.0.1:9", timeout=2).generate([], "x")
    server = serve(CannedBackend("ok"), max_request_bytes=100)
    with pytest.raises(BackendError, match="413"):
        OpenAIChatBackend(server.url).generate([IMAGE], "x")
