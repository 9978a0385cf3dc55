"""Shared --model / --endpoint options of the commands that need a model (not a command itself)."""

from __future__ import annotations

import argparse
import os

from molmo_agent.embedded import (
    read_model_record,
    zoom_refine_for,
    zoom_search_for,
    zoom_votes_for,
    zoom_window_for,
)
from molmo_agent.errors import MolmoAgentError


def add_backend_arguments(parser: argparse.ArgumentParser, remote: bool = True) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", default=os.environ.get("MOLMO_AGENT_MODEL"),
                       help="local Molmo checkpoint directory (default: $MOLMO_AGENT_MODEL)")
    if remote:
        group.add_argument("--endpoint", help="OpenAI-compatible server URL instead of a local model, "
                                              "e.g. http://127.0.0.1:8000/v1 (molmo-agent serve, vLLM)")
        group.add_argument("--remote-model", default="molmo", help="model name to send to --endpoint")
    group.add_argument("--device", default="cpu", help="torch device for --model (cpu, cuda, cuda:1)")
    group.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16 for --model")
    group.add_argument("--max-new-tokens", type=int, default=200, help="longest answer in tokens")


def backend_from_args(args: argparse.Namespace):
    from molmo_agent.backends import LocalMolmoBackend, OpenAIChatBackend

    if getattr(args, "endpoint", None):
        return OpenAIChatBackend(args.endpoint, model=args.remote_model, max_new_tokens=args.max_new_tokens)
    if not args.model:
        raise MolmoAgentError("no model: pass --model DIR (or set MOLMO_AGENT_MODEL)"
                              + (" or --endpoint URL" if hasattr(args, "endpoint") else ""))
    return LocalMolmoBackend.from_pretrained(args.model, dtype=args.dtype, device=args.device,
                                             max_new_tokens=args.max_new_tokens)


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480), for argparse ``type=``."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 640x480, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError("width and height must be positive")
    return width, height


DEFAULT_POINT_PROMPT = "Point to {query}."


def point_prompt_from_args(args: argparse.Namespace) -> str:
    """``--prompt`` if given, else the template the model directory declares, else Molmo's own.

    A model directory may declare how it wants pointing queries in ``embedded_model.json``
    (``"point_prompt"``): the embedded model was trained on bare instructions, so it declares
    ``"{query}"``; the releases have no such file and get ``"Point to {query}."``.
    """
    if getattr(args, "prompt", None):
        return args.prompt
    model = getattr(args, "model", None)
    if model and not getattr(args, "endpoint", None):
        declared = (read_model_record(model) or {}).get("point_prompt")
        if isinstance(declared, str) and "{query}" in declared:
            return declared
    return DEFAULT_POINT_PROMPT


def add_zoom_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zoom", type=int, default=None, metavar="PX",
                        help="zoom step: point again on a PX-pixel window around the first point, at most half "
                             "of each side of the image (default: the window the model directory declares, e.g. "
                             "the embedded model's 240; 0 = off)")
    parser.add_argument("--zoom-search", action=argparse.BooleanOptionalAction, default=None,
                        help="when the zoom window answers \"There are none.\", ask a grid of windows over the "
                             "image and keep the point most of them agree on (default: what the model directory "
                             "declares: on for the embedded model)")
    parser.add_argument("--zoom-votes", type=zoom_votes_type, default=None, metavar="N",
                        help="ask the zoom step on N windows, the centred one and ones shifted by a sixth of a "
                             "side around it (one batch), and keep the place most answers agree on, averaged "
                             "(1-9; default: what the model directory declares: 5 for the embedded model, else 1)")
    parser.add_argument("--zoom-refine", type=int, default=None, metavar="PX",
                        help="a finer level after the zoom step: point again on a PX-pixel window around its "
                             "point, with the same votes, where that is under 3/4 of the zoom window (a model "
                             "must be trained to read at that scale; default: what the model directory "
                             "declares; 0 = off)")


def zoom_votes_type(text: str) -> int:
    """argparse ``type=`` of ``--zoom-votes``: a whole number from 1 to 9."""
    from molmo_agent.zoom import check_votes

    try:
        return check_votes(int(text))
    except ValueError as error:  # not a number, or CoordinateError (a ValueError): out of range
        message = str(error) if "votes" in str(error) else f"expected a whole number of windows, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def local_model_dir(args: argparse.Namespace) -> str | None:
    """``--model`` when the commands run a local model (not ``--endpoint``): the directory whose
    ``embedded_model.json`` may declare the zoom step and the counting tiles; else None."""
    return None if getattr(args, "endpoint", None) else getattr(args, "model", None) or None


def zoom_window_from_args(args: argparse.Namespace) -> int | None:
    """``--zoom`` if given (0 = off), else the ``zoom_window`` a local model directory declares in
    ``embedded_model.json`` (the embedded model was trained for a 240 px zoom step), else none."""
    return zoom_window_for(local_model_dir(args), getattr(args, "zoom", None))


def zoom_search_from_args(args: argparse.Namespace) -> bool:
    """``--zoom-search`` / ``--no-zoom-search`` if given, else the ``zoom_search`` a local model
    directory declares in ``embedded_model.json`` (the embedded model was trained for it), else off."""
    return zoom_search_for(local_model_dir(args), getattr(args, "zoom_search", None))


def zoom_votes_from_args(args: argparse.Namespace) -> int:
    """``--zoom-votes`` if given, else the ``zoom_votes`` a local model directory declares in
    ``embedded_model.json``, else 1 (one window)."""
    return zoom_votes_for(local_model_dir(args), getattr(args, "zoom_votes", None))


def zoom_refine_from_args(args: argparse.Namespace) -> int | None:
    """``--zoom-refine`` if given (0 = off), else the ``zoom_refine`` a local model directory declares
    in ``embedded_model.json``, else none."""
    return zoom_refine_for(local_model_dir(args), getattr(args, "zoom_refine", None))


def grounder_from_args(args: argparse.Namespace):
    """The Grounder the pointing commands use: the model, its prompt template and its zoom step (and
    the step's search, votes and finer level)."""
    from molmo_agent.grounder import Grounder

    return Grounder(backend_from_args(args), point_prompt=point_prompt_from_args(args),
                    zoom_window=zoom_window_from_args(args), zoom_search=zoom_search_from_args(args),
                    zoom_votes=zoom_votes_from_args(args), zoom_refine=zoom_refine_from_args(args))
