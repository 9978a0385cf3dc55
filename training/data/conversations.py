"""Generic "image + conversation" JSON Lines for users' own data.

One JSON object per line; image paths are relative to the file's folder (or ``image_root``)::

    {"image": "shots/0001.png", "messages": [{"role": "user", "content": "Point to Save."},
                                            {"role": "assistant", "content": "<point x=\\"12.5\\" y=\\"80.0\\" alt=\\"Save\\">Save</point>"}]}
    {"image": "shots/0002.png", "annotations": [[{"prompt": "...", "answer": "..."}], [...]], "style": "pointing"}
    {"image": null, "messages": [...]}            # text-only

``messages`` is one conversation (user/assistant alternating); ``annotations`` is several
conversations about the same image (packed together, unable to see each other).

    >>> source = load_conversations("my_data/train.jsonl")
    >>> len(source), source.skips.summary()
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from molmo_agent.training.data.example import Example, SkipCounter, Turn
from molmo_agent.training.data.formats import with_style
from molmo_agent.training.data.tables import read_rows
from molmo_agent.training.errors import DataError


def _turns_from_messages(messages: list[dict[str, Any]], where: str) -> list[Turn]:
    turns, prompt = [], None
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            raise DataError(f"{where}: message content must be a string, got {type(content).__name__}")
        if role in ("user", "human"):
            if prompt is not None:
                raise DataError(f"{where}: two user messages in a row")
            prompt = content
        elif role in ("assistant", "gpt", "model"):
            if prompt is None:
                raise DataError(f"{where}: an assistant message without a user message before it")
            turns.append(Turn(prompt, content))
            prompt = None
        elif role != "system":
            raise DataError(f"{where}: unknown role {role!r}")
    if not turns:
        raise DataError(f"{where}: no user/assistant pair")
    return turns


def parse_conversation_row(row: dict[str, Any], where: str) -> tuple[Any, list[list[Turn]]]:
    """(image field, annotations) of one row; DataError naming the row when malformed."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: a row must be a JSON object")
    style = row.get("style")
    if "messages" in row:
        annotations = [_turns_from_messages(row["messages"], where)]
    elif "annotations" in row:
        annotations = [[Turn(t["prompt"], t["answer"]) for t in conv] for conv in row["annotations"]]
    elif "prompt" in row and "answer" in row:
        annotations = [[Turn(row["prompt"], row["answer"])]]
    else:
        raise DataError(f"{where}: needs 'messages', 'annotations' or 'prompt'+'answer'")
    annotations = [[Turn(with_style(t.prompt, style), t.answer) for t in conv] for conv in annotations]
    return row.get("image"), annotations


class ConversationSource:
    """Examples from a conversation JSONL file; rows whose image is missing are skipped and counted.

        >>> source = ConversationSource("my_data/train.jsonl"); source.get(0, rng).annotations
    """

    def __init__(self, path: str | os.PathLike, image_root: str | os.PathLike | None = None,
                 name: str | None = None, on_missing_image: str = "skip") -> None:
        path = Path(path)
        self.name = name or path.stem
        self.skips = SkipCounter(self.name)
        root = Path(image_root) if image_root else (path if path.is_dir() else path.parent)
        self.examples: list[Example] = []
        for index, row in enumerate(read_rows(path)):
            where = f"{path} row {index}"
            image, annotations = parse_conversation_row(row, where)
            if image is not None:
                image_path = Path(image) if Path(image).is_absolute() else root / image
                if not image_path.is_file():
                    if on_missing_image == "error":
                        raise DataError(f"{where}: image file not found: {image_path}")
                    self.skips.skip("image file not found", where)
                    continue
                image = str(image_path)
            self.examples.append(Example(image, annotations, source=self.name))

    def __len__(self) -> int:
        return len(self.examples)

    def get(self, index: int, rng: np.random.Generator) -> Example:
        return self.examples[index]


def load_conversations(path: str | os.PathLike, image_root: str | os.PathLike | None = None,
                       name: str | None = None) -> ConversationSource:
    return ConversationSource(path, image_root, name)
