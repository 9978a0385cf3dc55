"""AndroidControl: the release format reader, conversion to Molmo training examples, step accuracy.

    >>> from molmo_agent.training.android_control import read_episodes, episode_examples
    >>> episodes = read_episodes(["android_control-00000-of-00020"], on_bad="skip")
    >>> examples = [ex for ep in episodes.episodes for ex in episode_examples(ep, level="low")]
"""

from molmo_agent.training.android_control.actions import Action, format_action, parse_action
from molmo_agent.training.android_control.convert import episode_examples, episode_steps
from molmo_agent.training.android_control.episodes import Episode, read_episodes, read_splits
from molmo_agent.training.android_control.metrics import PROTOCOL, StepScore, score_step

__all__ = [
    "Action", "format_action", "parse_action", "episode_examples", "episode_steps", "Episode",
    "read_episodes", "read_splits", "PROTOCOL", "StepScore", "score_step",
]
