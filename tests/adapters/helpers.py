"""Shared helpers of the adapter tests: the agent layer's Grounder over canned model text.

The text is computed by each test from ground truth (scene geometry, Tk widget boxes, DOM boxes),
so the adapters' own conversions are what is tested; the real model is not involved.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from molmo_agent.backends import CannedBackend
from molmo_agent.grounder import Grounder


def canned_grounder(text: str | Mapping[str, str] | Callable) -> Grounder:
    """A Grounder whose backend answers ``text``; a mapping answers by the query named in the prompt."""
    if isinstance(text, Mapping):
        table = dict(text)

        def answer(images, prompt: str) -> str:
            hits = [reply for query, reply in table.items() if query in prompt]
            return hits[0] if hits else "There are none."

        return Grounder(CannedBackend(answer))
    return Grounder(CannedBackend(text))


@contextlib.contextmanager
def chat_endpoint(answer: Callable[[dict], str]) -> Iterator[str]:
    """A real OpenAI-compatible HTTP endpoint on 127.0.0.1 whose replies come from ``answer(request_json)``.

    Yields the base URL (``http://127.0.0.1:PORT/v1``) to pass as ``--endpoint``.
    """
    lock = threading.Lock()

    class Chat(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                text = answer(request)
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Chat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
