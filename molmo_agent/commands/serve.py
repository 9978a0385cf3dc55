"""``molmo-agent serve``: an OpenAI-compatible chat endpoint and /point over a local model."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve a local Molmo over HTTP (OpenAI-compatible chat + /point)",
        description="Serve a local Molmo checkpoint: POST /v1/chat/completions (images as data URLs), "
                    "POST /point, GET /health, GET /v1/models. Binds 127.0.0.1 unless --host says otherwise.",
        epilog="example: molmo-agent serve --model ./Molmo-7B-D-0924 --device cuda --dtype bfloat16 --port 8000")
    from molmo_agent.commands._backend_args import add_backend_arguments

    add_backend_arguments(parser, remote=False)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--model-name", default="molmo", help="name reported in /v1/models and answers")
    parser.add_argument("--max-batch-size", type=int, default=8, help="requests run together on the model")
    parser.add_argument("--batch-wait-ms", type=float, default=10.0, help="how long a batch waits to fill")
    parser.add_argument("--queue-size", type=int, default=64, help="waiting requests before 503")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request before 504")
    parser.add_argument("--max-request-mb", type=float, default=20.0, help="request body limit (413 above)")
    parser.add_argument("--max-image-pixels", type=int, default=12_000_000, help="image pixel limit (413 above)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from molmo_agent.commands._backend_args import backend_from_args
    from molmo_agent.server import ServerConfig, make_server

    backend = backend_from_args(args)
    config = ServerConfig(host=args.host, port=args.port, model_name=args.model_name,
                          max_request_bytes=int(args.max_request_mb * 1024 * 1024),
                          max_image_pixels=args.max_image_pixels, queue_size=args.queue_size,
                          max_batch_size=args.max_batch_size, batch_wait_s=args.batch_wait_ms / 1000,
                          request_timeout_s=args.timeout, default_max_new_tokens=args.max_new_tokens)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}: the server has no authentication; anyone who can reach "
              "this port can use the model", file=sys.stderr)
    server = make_server(backend, config)
    print(f"molmo-agent serving {args.model} on {server.url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
