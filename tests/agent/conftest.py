"""Fixtures of the agent-layer tests: a stdlib HTTP client for the server tests, servers that stop."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from molmo_agent.images import to_data_url


def post(url: str, body, timeout: float = 60.0, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def chat_body(image, prompt: str, max_tokens: int = 8) -> dict:
    return {"model": "molmo", "max_tokens": max_tokens, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": to_data_url(image)}}, {"type": "text", "text": prompt}]}]}


@pytest.fixture
def http():
    """post(url, body) / get(url) -> (status, json); chat_body(image, prompt) builds an OpenAI request."""
    return SimpleNamespace(post=post, get=get, chat_body=chat_body)


@pytest.fixture
def serve():
    """serve(backend, **ServerConfig fields) -> a running server on a free loopback port."""
    from molmo_agent.server import ServerConfig, start_server

    servers = []

    def start(backend, **config):
        server = start_server(backend, ServerConfig(port=0, **config))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for the module: on a shared 2-core machine, torch's spinning worker
    threads make a tiny model up to 50x slower when other processes compete for the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
