"""Run a GroundingPolicy in an env for N episodes; success rate and a trajectory report.

Every env step goes through the agent layer's ``SafetyPolicy``: the grounded point is checked as
an image-frame ``Click`` and, if allowed, converted and passed to ``env.step``.

    report = run_episodes(env, policy, episodes=20, seed=0, run_dir="runs/miniwob")
    print(report.success_rate)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from molmo_agent.actions import Click
from molmo_agent.adapters.errors import AdapterError
from molmo_agent.errors import MolmoAgentError
from molmo_agent.safety import SafetyPolicy


@dataclass
class EpisodeResult:
    seed: int | None
    success: bool
    reward: float
    steps: int
    instruction: str = ""
    error: str = ""


@dataclass
class RunReport:
    env_id: str
    episodes: list[EpisodeResult] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return sum(e.success for e in self.episodes) / len(self.episodes) if self.episodes else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "n_episodes": len(self.episodes), "success_rate": self.success_rate,
                "successes": sum(e.success for e in self.episodes),
                "mean_reward": sum(e.reward for e in self.episodes) / max(len(self.episodes), 1),
                "episodes": [asdict(e) for e in self.episodes]}


def episode_success(reward: float, terminated: bool, info: dict) -> bool:
    """The env's own verdict when it gives one (``success``/``is_success`` in info), else reward > 0 at the end."""
    for key in ("success", "is_success"):
        if key in info:
            return bool(info[key])
    return bool(terminated and reward > 0)


def run_episodes(env: Any, policy: Any, episodes: int, seed: int | None = 0, safety: SafetyPolicy | None = None,
                 run_dir: str | os.PathLike | None = None, max_steps: int = 50, env_id: str = "") -> RunReport:
    """Run ``episodes`` episodes (seeds ``seed, seed+1, ...``); log steps and write report.json to ``run_dir``."""
    from molmo_agent.trajectory import TrajectoryLog, atomic_write_bytes

    safety = safety or SafetyPolicy()
    log = TrajectoryLog(run_dir) if run_dir else None
    report = RunReport(env_id or str(getattr(getattr(env, "spec", None), "id", "") or type(env).__name__))
    for index in range(episodes):
        episode_seed = None if seed is None else seed + index
        report.episodes.append(_run_episode(env, policy, episode_seed, safety, log, max_steps, index))
    if run_dir:
        atomic_write_bytes(Path(run_dir) / "report.json", json.dumps(report.to_json(), indent=2).encode())
    return report


def _run_episode(env, policy, seed, safety, log, max_steps, index) -> EpisodeResult:
    observation, info = env.reset(seed=seed)
    result = EpisodeResult(seed, False, 0.0, 0)
    terminated = truncated = False
    while not (terminated or truncated) and result.steps < max_steps:
        try:
            step = policy.ground(observation)
        except MolmoAgentError as error:
            result.error = f"{type(error).__name__}: {error}"
            break
        result.instruction = step.instruction
        if step.point is None:
            result.error = f"the model found nothing (text {step.text[:80]!r})"
            _log(log, step, None, None, index, result)
            break
        click = Click(step.point.x, step.point.y, frame="image", label=step.instruction)
        try:  # convert first: a point the action space cannot express is never sent
            env_action = policy.convert(step.point, observation, info)
        except AdapterError as error:  # e.g. the point is in no element box of a Discrete space
            result.error = f"{type(error).__name__}: {error}"
            _log(log, step, click, None, index, result)
            break
        started = time.perf_counter()
        decision = safety.execute(click, lambda _, action=env_action: env.step(action))
        result.steps += 1
        if not decision.executed:
            result.error = f"not executed: {decision.reason}"
            _log(log, step, click, decision, index, result)
            break
        observation, reward, terminated, truncated, info = decision.result
        result.reward += float(reward)
        result.success = episode_success(float(reward), bool(terminated), info)
        _log(log, step, click, decision, index, result, env_s=time.perf_counter() - started)
    return result


def _log(log, step, click, decision, index, result, env_s: float = 0.0) -> None:
    if log is None:
        return
    log.log_step(image=step.image, prompt=step.prompt, text=step.text,
                 points=[step.point] if step.point else [], action=click, decision=decision,
                 timings={"model_s": step.seconds, "env_s": env_s}, episode=index, seed=result.seed,
                 reward=result.reward, success=result.success, error=result.error)
