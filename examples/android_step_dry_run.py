"""One AndroidControl-style step on a phone screenshot, as a dry run, logged and rendered as HTML.

    python examples/android_step_dry_run.py screen.png "open the Wi-Fi settings" --model path/to/molmo-androidcontrol

The model answers "Plan: ... Action: Click(x, y)" (percent of the screenshot); the agent turns it
into a typed action in screenshot pixels, passes it through the safety policy (dry run: nothing
is executed) and writes steps.jsonl, annotated PNGs and report.html under --run-dir.
Without --model/--endpoint a canned answer stands in for the model, to show the plumbing.
"""

import argparse

from molmo_agent.actions import to_android_control
from molmo_agent.agent import Agent
from molmo_agent.backends import CannedBackend, LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder
from molmo_agent.images import as_image
from molmo_agent.report import render_report
from molmo_agent.safety import Region, SafetyPolicy
from molmo_agent.trajectory import TrajectoryLog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("screenshot")
    parser.add_argument("instruction")
    parser.add_argument("--level", choices=["low", "high"], default="low")
    parser.add_argument("--model")
    parser.add_argument("--endpoint")
    parser.add_argument("--run-dir", default="runs/android-dry-run")
    args = parser.parse_args()

    if args.endpoint:
        backend = OpenAIChatBackend(args.endpoint)
    elif args.model:
        backend = LocalMolmoBackend.from_pretrained(args.model, max_new_tokens=64)
    else:
        print("no --model/--endpoint: using a canned answer instead of a model")
        backend = CannedBackend("Plan: open the settings list. Action: Click(50.0, 20.0)")

    screenshot = as_image(args.screenshot)
    width, height = screenshot.size
    # Keep taps off the status bar (top 5 %); dry run: nothing is executed.
    policy = SafetyPolicy(allowed_regions=[Region(0, 0.05 * height, width, height, frame="image")],
                          dry_run=True, max_actions=20)
    agent = Agent(Grounder(backend), policy, executor=lambda action: None, log=TrajectoryLog(args.run_dir))
    step = agent.act(screenshot, args.instruction, level=args.level)

    print(f"model: {step.text!r}")
    print(f"plan: {step.plan!r}")
    print(f"action: {step.action.to_json()}  (AndroidControl: {to_android_control(step.action)})")
    print(f"policy: {step.decision.rule} - {step.decision.reason}")
    print(f"annotated: {args.run_dir}/{step.record['annotated_image']}")
    print(f"report: {render_report(args.run_dir)}")


if __name__ == "__main__":
    main()
