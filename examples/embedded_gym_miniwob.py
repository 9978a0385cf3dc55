"""The embedded model as a Gymnasium policy on MiniWoB++ web tasks in headless chromium.

    python examples/embedded_gym_miniwob.py --tasks click-test-v1 click-button-v1 --episodes 5

The policy grounds the task's utterance ("Click on the "ok" button.") in the screenshot with the
shipped model and converts the point to MiniWoB's CLICK_COORDS action (molmo_agent.adapters.gym).
A listener in the page records every click chromium delivered, so the script can show that each one
arrived where the model pointed; the env's reward decides success. The same from the command line:
``molmo-agent gym run miniwob/click-test-v1 --model molmo_agent/embedded --prompt '{query}'``.
Needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver).
"""

import argparse

import gymnasium as gym

LISTEN = ("if (!window.__clicks) { window.__clicks = [];"
          " document.addEventListener('click', e => window.__clicks.push([e.clientX, e.clientY]), true); }")


class PageClicks(gym.Wrapper):
    """Records (CLICK_COORDS sent, clicks the page received) for every step."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = []

    def reset(self, **kwargs):
        result = self.env.reset(**kwargs)
        self.env.unwrapped.instance.driver.execute_script(LISTEN)
        return result

    def step(self, action):
        driver = self.env.unwrapped.instance.driver
        driver.execute_script("window.__clicks.length = 0;")
        result = self.env.step(action)
        self.steps.append(([float(v) for v in action["coords"]], driver.execute_script("return window.__clicks;")))
        return result


def run(tasks=("click-test-v1", "click-button-v1"), episodes: int = 3, seed: int = 0,
        out: str = "runs/embedded-miniwob") -> list[dict]:
    import torch

    from molmo_agent.adapters.gym import GroundingPolicy, run_episodes
    from molmo_agent.adapters.gym.miniwob import make_miniwob_env, miniwob_click_converter
    from molmo_agent.demo import embedded_model_dir, make_grounder

    torch.set_num_threads(1)  # short queries: one thread is fastest
    grounder = make_grounder(embedded_model_dir())  # asks with the utterance itself, as it was trained
    results = []
    for task in tasks:
        env = make_miniwob_env(f"miniwob/{task}")
        try:
            recorder = PageClicks(env)
            policy = GroundingPolicy(grounder, miniwob_click_converter(env), "screenshot", "utterance")
            report = run_episodes(recorder, policy, episodes, seed=seed, run_dir=f"{out}/{task}", max_steps=2)
        finally:
            env.close()
        arrived = sum(len(page) == 1 and all(abs(p - c) <= 1 for p, c in zip(page[0], coords))
                      for coords, page in recorder.steps)
        print(f"{task}: success rate {report.success_rate:.2f} over {episodes} episodes; {arrived}/"
              f"{len(recorder.steps)} clicks arrived in the page at the model's point (log: {out}/{task})")
        results.append({"adapter": "gymnasium (MiniWoB++, chromium)", "task": task, "episodes": episodes,
                        "successes": sum(e.success for e in report.episodes),
                        "path_ok": f"{arrived}/{len(recorder.steps)} clicks"})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["click-test-v1", "click-button-v1"])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/embedded-miniwob")
    args = parser.parse_args()
    run(args.tasks, args.episodes, args.seed, args.out)


if __name__ == "__main__":
    main()
