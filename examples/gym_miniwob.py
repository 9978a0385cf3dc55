"""Solve MiniWoB++ web tasks in headless chromium with the grounding policy.

    python examples/gym_miniwob.py --task click-button-v1 --episodes 10 --endpoint http://127.0.0.1:8000/v1
    python examples/gym_miniwob.py --task click-dialog-v1 --oracle       # no model: read the page's DOM

The policy asks the model to point at the instruction ("Click on the "Ok" button.") in the
screenshot and converts the point to MiniWoB's CLICK_COORDS action. --oracle answers from the
DOM instead, to check the plumbing without a model. The run directory can be viewed with
`molmo-agent report runs/miniwob`.
"""

import argparse
import re

import gymnasium as gym

from molmo_agent.adapters.gym import GroundingPolicy, run_episodes
from molmo_agent.adapters.gym.miniwob import make_miniwob_env, miniwob_click_converter
from molmo_agent.backends import CannedBackend, LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder


class DomOracle(gym.Wrapper):
    """Remembers the page's DOM and answers like a model would, from the element boxes (for --oracle)."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.obs = obs
        return obs, info

    def step(self, action):
        result = self.env.step(action)
        self.obs = result[0]
        return result

    def answer(self, images, prompt):
        wanted = re.findall(r'"([^"]+)"', self.obs["utterance"])
        buttons = [e for e in self.obs["dom_elements"] if e["tag"] == "button"]
        if wanted:
            buttons = [e for e in buttons if e["text"].strip() == wanted[0] or
                       (wanted[0] == "x" and "close" in e["classes"])]
        if not buttons:
            return "There are none."
        b = buttons[0]
        width, height = images[0].size
        x, y = float(b["left"][0] + b["width"][0] / 2), float(b["top"][0] + b["height"][0] / 2)
        return f'<point x="{100 * x / width:.2f}" y="{100 * y / height:.2f}" alt="button">button</point>'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="click-button-v1")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--model")
    parser.add_argument("--endpoint")
    parser.add_argument("--oracle", action="store_true")
    parser.add_argument("--out", default="runs/miniwob")
    args = parser.parse_args()

    env = DomOracle(make_miniwob_env(f"miniwob/{args.task}"))
    try:
        if args.oracle:
            backend = CannedBackend(env.answer)
        elif args.endpoint:
            backend = OpenAIChatBackend(args.endpoint)
        elif args.model:
            backend = LocalMolmoBackend.from_pretrained(args.model)
        else:
            parser.error("pass --model, --endpoint or --oracle")
        policy = GroundingPolicy(Grounder(backend), miniwob_click_converter(env),
                                 image_key="screenshot", instruction_key="utterance")
        report = run_episodes(env, policy, args.episodes, seed=0, run_dir=args.out, max_steps=5)
    finally:
        env.close()
    print(f"{args.task}: success rate {report.success_rate:.2f} over {len(report.episodes)} episodes "
          f"(log: {args.out}, HTML: molmo-agent report {args.out})")


if __name__ == "__main__":
    main()
