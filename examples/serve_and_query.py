"""Serve a Molmo over HTTP and query it three ways: our remote backend, raw OpenAI chat JSON, /point.

    python examples/serve_and_query.py --model path/to/Molmo-7B-D-0924 --image photo.jpg --query "the red mug"

The same server is what `molmo-agent serve --model DIR` runs. Without --model a tiny random-weight
Molmo is built (gibberish answers, real server). Any OpenAI client works against the /v1 URL, and
the agent layer works against vLLM's server the same way (OpenAIChatBackend).
"""

import argparse
import json
import tempfile
import urllib.request

from PIL import Image

from molmo_agent.backends import LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder
from molmo_agent.images import as_image, to_data_url
from molmo_agent.server import ServerConfig, start_server


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--image")
    parser.add_argument("--query", default="the red mug")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    if not args.model:
        from molmo_agent.training.tiny_checkpoint import build_random_checkpoint

        args.model = str(build_random_checkpoint(tempfile.mkdtemp(prefix="molmo-tiny-")))
        print(f"no --model: tiny random-weight model in {args.model}")
    image = as_image(args.image) if args.image else Image.new("RGB", (320, 240), (200, 30, 30))

    server = start_server(LocalMolmoBackend.from_pretrained(args.model, max_new_tokens=48),
                          ServerConfig(port=args.port, max_batch_size=8))
    print(f"serving on {server.url} (loopback only)")
    try:
        remote = Grounder(OpenAIChatBackend(server.url + "/v1"))
        print("Grounder over HTTP:", remote.ground(image, args.query).text)
        chat = post(server.url + "/v1/chat/completions", {"model": "molmo", "max_tokens": 48, "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": to_data_url(image)}},
                                         {"type": "text", "text": f"Point to {args.query}."}]}]})
        print("chat completion:", chat["choices"][0]["message"]["content"])
        point = post(server.url + "/point", {"image": to_data_url(image), "query": args.query})
        print("/point:", json.dumps({k: point[k] for k in ("points", "image_size", "said_none")}))
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
