"""HTTP server: an OpenAI-compatible chat endpoint and a ``/point`` endpoint over one model backend.

Endpoints (JSON in and out; binds 127.0.0.1 unless told otherwise):

- ``POST /v1/chat/completions``: OpenAI chat format; images as ``image_url`` data URLs.
- ``POST /point``: ``{"image": "<data URL or base64>", "query": "the mug", "all": false}`` ->
  ``{"points": [...pixels...], "text": "<raw model text>", "image_size": [w, h], "said_none": false}``.
- ``GET /health``, ``GET /v1/models``.

Limits: request bodies over ``max_request_bytes`` and images over ``max_image_pixels`` -> 413;
a full queue -> 503 (with Retry-After); a request not answered within ``request_timeout_s`` -> 504.
Concurrent requests are batched onto the model by one worker thread (up to ``max_batch_size``,
waiting at most ``batch_wait_s`` for a batch to fill).

    from molmo_agent.server import ServerConfig, start_server
    server = start_server(backend, ServerConfig(port=8000))   # runs in a background thread
    ...
    server.shutdown()
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from molmo_agent.backends import Backend, GenerationRequest
from molmo_agent.errors import MolmoAgentError
from molmo_agent.images import ImageTooLarge, as_image, from_data_url
from molmo_agent.parsing import parse

logger = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    """Server settings; the defaults suit one GPU and a handful of clients."""

    host: str = "127.0.0.1"
    port: int = 8000
    model_name: str = "molmo"
    max_request_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 12_000_000
    max_images_per_request: int = 4
    queue_size: int = 64
    max_batch_size: int = 8
    batch_wait_s: float = 0.01
    request_timeout_s: float = 120.0
    default_max_new_tokens: int = 200
    max_new_tokens_limit: int = 1024


class HTTPError(Exception):
    """An error answer: status code, message and OpenAI-style error type."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers or {}


class _Job:
    __slots__ = ("request", "done", "result", "error", "cancelled")

    def __init__(self, request: GenerationRequest):
        self.request, self.done = request, threading.Event()
        self.result: str | None = None
        self.error: BaseException | None = None
        self.cancelled = False


class BatchingWorker:
    """A bounded queue in front of the backend and one thread that runs the queued jobs in batches."""

    def __init__(self, backend: Backend, queue_size: int, max_batch_size: int, batch_wait_s: float):
        self.backend, self.max_batch_size, self.batch_wait_s = backend, max_batch_size, batch_wait_s
        self.queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self.batches: list[int] = []  # sizes of the batches run, for tests and /health
        self._thread = threading.Thread(target=self._loop, name="molmo-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: GenerationRequest) -> _Job:
        job = _Job(request)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise HTTPError(503, "server busy: request queue is full, retry later", "overloaded",
                            {"Retry-After": "1"}) from None
        return job

    def stop(self) -> None:
        self.queue.put(None)
        self._thread.join(timeout=10)

    def _collect(self, first: _Job) -> list[_Job]:
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.max_batch_size:
            try:
                job = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                self.queue.put(None)  # keep the stop signal for the loop
                break
            batch.append(job)
        return [job for job in batch if not job.cancelled]

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = self._collect(first)
            if not batch:
                continue
            self.batches.append(len(batch))
            try:
                texts = self.backend.generate_batch([job.request for job in batch])
                for job, text in zip(batch, texts):
                    job.result = text
            except BaseException as error:  # noqa: BLE001 - every waiting request must be answered
                logger.exception("batch of %d failed", len(batch))
                for job in batch:
                    job.error = error
            for job in batch:
                job.done.set()


class MolmoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: hundreds of clients may connect at once
    allow_reuse_address = True

    def __init__(self, backend: Backend, config: ServerConfig):
        self.config = config
        self.worker = BatchingWorker(backend, config.queue_size, config.max_batch_size, config.batch_wait_s)
        self.counts = {"ok": 0, "client_error": 0, "overloaded": 0, "timeout": 0, "server_error": 0}
        self._counts_lock = threading.Lock()
        super().__init__((config.host, config.port), _Handler)

    def count(self, status: int) -> None:
        key = ("ok" if status < 400 else "overloaded" if status == 503 else "timeout" if status == 504
               else "client_error" if status < 500 else "server_error")
        with self._counts_lock:
            self.counts[key] += 1

    def server_close(self) -> None:
        self.worker.stop()
        super().server_close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def _decode_image(value: Any, config: ServerConfig):
    if not isinstance(value, str) or not value:
        raise HTTPError(400, "image must be a data URL or a base64 string")
    try:
        if value.startswith("data:"):
            return from_data_url(value, max_pixels=config.max_image_pixels)
        if value.startswith(("http://", "https://", "file:")):
            raise HTTPError(400, "remote image URLs are not fetched; send a data: URL")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPError(400, "image is neither a data URL nor valid base64") from None
        return as_image(data, max_pixels=config.max_image_pixels)
    except ImageTooLarge as error:
        raise HTTPError(413, str(error), "image_too_large") from None
    except MolmoAgentError as error:
        raise HTTPError(400, str(error)) from None


def _max_new_tokens(value: Any, config: ServerConfig) -> int:
    if value is None:
        return config.default_max_new_tokens
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= config.max_new_tokens_limit:
        raise HTTPError(400, f"max_tokens must be an int in [1, {config.max_new_tokens_limit}]")
    return value


def chat_request(body: Any, config: ServerConfig) -> GenerationRequest:
    """An OpenAI chat completion request -> one GenerationRequest (Molmo answers single-turn)."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        raise HTTPError(400, "expected {'messages': [...]} with at least one message")
    if body.get("stream"):
        raise HTTPError(400, "streaming is not supported")
    if body.get("n", 1) != 1:
        raise HTTPError(400, "only n=1 is supported")
    texts, images = [], []
    for message in body["messages"]:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise HTTPError(400, "each message needs a role of system, user or assistant")
        if message["role"] != "user":
            continue
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise HTTPError(400, "message content must be a string or a list of parts")
        for part in parts:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url" and isinstance(part.get("image_url"), (dict, str)):
                url = part["image_url"]["url"] if isinstance(part["image_url"], dict) else part["image_url"]
                images.append(url)
            else:
                raise HTTPError(400, f"unsupported content part {str(part)[:80]!r}")
    if not texts:
        raise HTTPError(400, "no user text in the messages")
    if len(images) > config.max_images_per_request:
        raise HTTPError(413, f"at most {config.max_images_per_request} images per request", "too_many_images")
    decoded = [_decode_image(url, config) for url in images]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return GenerationRequest(decoded, "\n".join(texts), _max_new_tokens(max_tokens, config))


class _Handler(BaseHTTPRequestHandler):
    server: MolmoHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "molmo-agent"

    def log_message(self, format: str, *args: Any) -> None:  # route access logs to logging
        logger.debug("%s " + format, self.address_string(), *args)

    # --- plumbing ------------------------------------------------------------------------
    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.server.count(status)

    def _error(self, error: HTTPError) -> None:
        self._send(error.status, {"error": {"message": error.message, "type": error.kind, "code": error.status}},
                   error.headers)

    def _read_json(self) -> Any:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise HTTPError(411, "Content-Length is required")
        try:
            length = int(length_header)
        except ValueError:
            raise HTTPError(400, "bad Content-Length") from None
        limit = self.server.config.max_request_bytes
        if length < 0:
            raise HTTPError(400, "bad Content-Length")
        if length > limit:
            # Drain a moderately oversized body so the client can read the answer; refuse the rest.
            if length <= 4 * limit:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            raise HTTPError(413, f"request body of {length} bytes is over the limit of {limit}", "request_too_large")
        try:
            return json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPError(400, "request body is not valid JSON") from None

    def _run(self, request: GenerationRequest) -> str:
        job = self.server.worker.submit(request)
        if not job.done.wait(self.server.config.request_timeout_s):
            job.cancelled = True
            raise HTTPError(504, f"no answer within {self.server.config.request_timeout_s} s", "timeout")
        if job.error is not None:
            raise HTTPError(500, f"model backend failed: {job.error}", "server_error")
        return job.result or ""

    # --- routes --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            worker = self.server.worker
            self._send(200, {"status": "ok", "model": self.server.config.model_name,
                             "queued": worker.queue.qsize(), "batches": len(worker.batches)})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.server.config.model_name, "object": "model",
                                                         "owned_by": "molmo-agent"}]})
        else:
            self._error(HTTPError(404, f"no route GET {self.path}", "not_found"))

    def do_POST(self) -> None:  # noqa: N802
        try:
            if self.path == "/v1/chat/completions":
                self._chat()
            elif self.path == "/point":
                self._point()
            else:
                self._read_json()
                raise HTTPError(404, f"no route POST {self.path}", "not_found")
        except HTTPError as error:
            self._error(error)
        except Exception as error:  # noqa: BLE001 - a bug must not kill the connection silently
            logger.exception("request failed")
            self._error(HTTPError(500, f"internal error: {type(error).__name__}", "server_error"))

    def _chat(self) -> None:
        request = chat_request(self._read_json(), self.server.config)
        text = self._run(request)
        self._send(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": self.server.config.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        })

    def _point(self) -> None:
        body = self._read_json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
            raise HTTPError(400, "expected {'image': ..., 'query': '...'}")
        image = _decode_image(body.get("image"), self.server.config)
        template = "Point to all {query}." if body.get("all") else "Point to {query}."
        prompt = template.format(query=body["query"].strip())
        max_tokens = _max_new_tokens(body.get("max_tokens"), self.server.config)
        text = self._run(GenerationRequest([image], prompt, max_tokens))
        result = parse(text, image.size, strict=False)
        self._send(200, {"points": [p.to_json() for p in result.points], "text": text, "prompt": prompt,
                         "image_size": list(image.size), "said_none": result.said_none,
                         "problems": result.problems})


def make_server(backend: Backend, config: ServerConfig | None = None) -> MolmoHTTPServer:
    """Create (bind) the server without serving; call ``serve_forever()`` on it."""
    return MolmoHTTPServer(backend, config or ServerConfig())


def start_server(backend: Backend, config: ServerConfig | None = None) -> MolmoHTTPServer:
    """Create the server and serve in a daemon thread; stop with ``server.shutdown(); server.server_close()``."""
    server = make_server(backend, config)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="molmo-http",
                     daemon=True).start()
    return server
