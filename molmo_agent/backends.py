"""Model backends: images + prompt -> text. The agent layer talks to a model only through these.

- :class:`LocalMolmoBackend`: a ``MolmoForCausalLM`` + ``MolmoProcessor`` in this process (batched;
  several prompts about one image reuse the cached image prefix).
- :class:`OpenAIChatBackend`: any OpenAI-compatible chat endpoint (``molmo-agent serve``, or vLLM
  serving Molmo), the image sent as a data URL.
- :class:`CannedBackend`: returns fixed text; for unit tests of the agent layer only.

    backend = LocalMolmoBackend.from_pretrained("path/to/Molmo-7B-D-0924", dtype="bfloat16", device="cuda")
    backend = OpenAIChatBackend("http://127.0.0.1:8000/v1", model="molmo")
    text = backend.generate([image], "Point to the Save button.")
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from molmo_agent.errors import BackendError
from molmo_agent.images import as_image, to_data_url


@dataclass
class GenerationRequest:
    """One prompt about zero or more images."""

    images: Sequence[Any]
    prompt: str
    max_new_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """What the grounder and the server need from a model."""

    def generate(self, images: Sequence[Any], prompt: str, max_new_tokens: int | None = None) -> str: ...

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[str]: ...


class BaseBackend:
    """``generate`` in terms of ``generate_batch``; subclasses implement one or both."""

    default_max_new_tokens = 200

    def generate(self, images: Sequence[Any], prompt: str, max_new_tokens: int | None = None) -> str:
        return self.generate_batch([GenerationRequest(list(images), prompt, max_new_tokens)])[0]

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[str]:
        return [self.generate(r.images, r.prompt, r.max_new_tokens) for r in requests]

    def generate_many(self, image: Any, prompts: Sequence[str], max_new_tokens: int | None = None) -> list[str]:
        """Several prompts about one image (a local model encodes the image once)."""
        return self.generate_batch([GenerationRequest([image], p, max_new_tokens) for p in prompts])


class CannedBackend(BaseBackend):
    """Returns canned text (a string, a list cycled through, or ``fn(images, prompt)``); records calls.

    For unit tests of the agent layer only:

        backend = CannedBackend('<point x="50" y="50" alt="x">x</point>')
    """

    def __init__(self, responses: str | Sequence[str] | Callable[[Sequence[Any], str], str]):
        self._responses = responses
        self.calls: list[tuple[list[Any], str]] = []
        self._lock = threading.Lock()

    def generate(self, images: Sequence[Any], prompt: str, max_new_tokens: int | None = None) -> str:
        with self._lock:
            index = len(self.calls)
            self.calls.append((list(images), prompt))
        if callable(self._responses):
            return self._responses(images, prompt)
        if isinstance(self._responses, str):
            return self._responses
        return self._responses[index % len(self._responses)]


class LocalMolmoBackend(BaseBackend):
    """A Molmo model in this process. Deterministic (greedy) unless ``do_sample``.

        backend = LocalMolmoBackend.from_pretrained("tests/fixtures/molmo-tiny-qwen2", max_new_tokens=32)
        backend.generate([image], "Point to the mug.")
    """

    def __init__(self, model: Any, processor: Any, max_new_tokens: int = 200, do_sample: bool = False,
                 temperature: float = 1.0, max_batch_size: int = 8):
        self.model, self.processor = model, processor
        self.default_max_new_tokens, self.do_sample, self.temperature = max_new_tokens, do_sample, temperature
        self.max_batch_size = max_batch_size
        self._lock = threading.Lock()  # one forward pass at a time: the model is not re-entrant

    @classmethod
    def from_pretrained(cls, path: str, dtype: Any = "float32", device: str = "cpu", **kwargs: Any) -> LocalMolmoBackend:
        from molmo_agent.model import MolmoForCausalLM, MolmoProcessor

        model = MolmoForCausalLM.from_pretrained(path, dtype=dtype, device=device)
        model.eval()
        return cls(model, MolmoProcessor.from_pretrained(path), **kwargs)

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[str]:
        results: list[str] = [""] * len(requests)
        # Text-only and image prompts go in separate batches; batches are capped at max_batch_size.
        groups: dict[bool, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(bool(request.images), []).append(index)
        for indices in groups.values():
            for start in range(0, len(indices), self.max_batch_size):
                chunk = indices[start:start + self.max_batch_size]
                for index, text in zip(chunk, self._run([requests[i] for i in chunk])):
                    results[index] = text
        return results

    def generate_many(self, image: Any, prompts: Sequence[str], max_new_tokens: int | None = None) -> list[str]:
        """Several prompts about one image: the image prefix is encoded once and its KV cache reused."""
        import torch

        if not prompts:
            return []
        inputs = self.processor(images=[as_image(image)], text="")
        with self._lock, torch.inference_mode():
            session = self.model.prefill(**inputs, processor=self.processor)
            return session.ask_many(list(prompts), max_new_tokens=max_new_tokens or self.default_max_new_tokens,
                                    do_sample=self.do_sample, temperature=self.temperature,
                                    eos_token_id=self.processor.eos_token_id)

    def _run(self, requests: Sequence[GenerationRequest]) -> list[str]:
        import torch

        limits = [r.max_new_tokens or self.default_max_new_tokens for r in requests]
        texts = [r.prompt for r in requests]
        if requests[0].images:
            images = [[as_image(image) for image in r.images] for r in requests]
            inputs = self.processor(images=images, text=texts)
        else:
            inputs = self.processor(text=texts)
        inputs = {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in inputs.items()}
        with self._lock, torch.inference_mode():
            # The tokenizer's end-of-text, not a default: it differs between releases (Qwen2, OLMo, ours).
            out = self.model.generate(**inputs, max_new_tokens=max(limits), do_sample=self.do_sample,
                                      temperature=self.temperature, eos_token_id=self.processor.eos_token_id)
        start = inputs["input_ids"].shape[1]
        eos = self.processor.eos_token_id
        answers = []
        for row, limit in zip(out[:, start:], limits):
            tokens = row[:limit].tolist()
            if eos in tokens:
                tokens = tokens[:tokens.index(eos)]
            answers.append(self.processor.decode(tokens, skip_special_tokens=True))
        return answers


class OpenAIChatBackend(BaseBackend):
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint (ours, or vLLM serving Molmo).

        backend = OpenAIChatBackend("http://127.0.0.1:8000/v1", model="allenai/Molmo-7B-D-0924")
    """

    def __init__(self, base_url: str, model: str = "molmo", api_key: str | None = None, timeout: float = 120.0,
                 max_new_tokens: int = 200, max_concurrency: int = 16):
        base = base_url.rstrip("/")
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model, self.api_key, self.timeout = model, api_key, timeout
        self.default_max_new_tokens, self.max_concurrency = max_new_tokens, max_concurrency

    def generate(self, images: Sequence[Any], prompt: str, max_new_tokens: int | None = None) -> str:
        content: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": to_data_url(image)}}
                                         for image in images]
        content.append({"type": "text", "text": prompt})
        body = {"model": self.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": max_new_tokens or self.default_max_new_tokens, "temperature": 0.0}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - user's URL
                reply = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode(errors="replace")
            raise BackendError(f"{self.url} answered HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise BackendError(f"cannot reach {self.url}: {error}") from None
        except json.JSONDecodeError:
            raise BackendError(f"{self.url} did not answer JSON") from None
        try:
            return reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"unexpected chat completion from {self.url}: {str(reply)[:300]}") from None

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[str]:
        # Concurrent requests let a batching server (ours, vLLM) put them in one batch.
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrency, len(requests)))) as pool:
            return list(pool.map(lambda r: self.generate(r.images, r.prompt, r.max_new_tokens), requests))
