"""The reading curriculum's data (letters) and the reading probe (molmo_agent.embedded.reading)."""

import json
from pathlib import Path

import numpy as np
import pytest

from molmo_agent.embedded.data import SEED_OFFSETS
from molmo_agent.sims.splits import HELD_OUT_SEED_START

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"


def _ink(picture: np.ndarray) -> np.ndarray:
    return np.argwhere((picture != picture[0, 0]).any(axis=2))  # the corner is background


def test_letter_pictures_show_one_letter_at_their_size_and_ask_what_it_says():
    """letters / letters-medium rows: one letter a picture, answered with exactly that letter, its ink
    inside the picture; both cases and every letter come up; the large letters are much taller than
    the large words' letters, the medium ones between."""
    from molmo_agent.embedded.data import (
        LETTER_HEIGHT_PX,
        LETTERS,
        WORD_HEIGHT_PX,
        WORD_IMAGE_PX,
        WORD_PROMPT,
        gui_words,
        text_rows,
    )

    heights = {}
    for source, size in LETTER_HEIGHT_PX.items():
        seen, heights[source] = set(), []
        for seed in range(SEED_OFFSETS[source], SEED_OFFSETS[source] + 150):
            for picture, ((qa,),) in text_rows(seed, LETTERS, size):
                assert picture.shape == (WORD_IMAGE_PX, WORD_IMAGE_PX, 3)
                assert qa["prompt"] == WORD_PROMPT and qa["answer"] in LETTERS and len(qa["answer"]) == 1
                ink = _ink(picture)
                assert ink.min() >= 2 and ink.max() <= WORD_IMAGE_PX - 3
                heights[source].append(ink[:, 0].max() - ink[:, 0].min() + 1)
                seen.add(qa["answer"])
        assert seen == set(LETTERS) and len(LETTERS) == 52
        assert max(heights[source]) <= size[1]  # no taller than the font size asked
    word_heights = [np.ptp(_ink(picture)[:, 0]) + 1 for seed in range(SEED_OFFSETS["gui-words"], SEED_OFFSETS["gui-words"] + 25)
                    for picture, _ in text_rows(seed, gui_words(), WORD_HEIGHT_PX["gui-words"])]
    assert np.median(heights["letters"]) > 1.5 * max(word_heights)
    assert np.median(heights["letters-medium"]) < 0.7 * np.median(heights["letters"])


def test_training_rows_refuse_held_out_seeds_that_the_probe_draws():
    from molmo_agent.embedded.data import LETTER_HEIGHT_PX, LETTERS, DataGenerationError, text_rows
    from molmo_agent.embedded.reading import READING_SETS, reading_pictures

    with pytest.raises(DataGenerationError, match="held-out"):
        next(text_rows(HELD_OUT_SEED_START, LETTERS, LETTER_HEIGHT_PX["letters"]))
    assert all(first >= HELD_OUT_SEED_START for first, _, _ in READING_SETS.values())
    letters = reading_pictures("letters", 10)
    again = reading_pictures("letters", 10)
    assert len(letters) == 10 and all(np.array_equal(a, b) and s == t for (a, s), (b, t) in zip(letters, again))
    large, small = reading_pictures("gui-words", 8), reading_pictures("gui-words-small", 8)
    assert [t for _, t in large] != [t for _, t in small]
    assert np.median([np.ptp(_ink(p)[:, 0]) for p, _ in small]) < np.median([np.ptp(_ink(p)[:, 0]) for p, _ in large])
    with pytest.raises(ValueError, match="unknown reading set"):
        reading_pictures("words", 4)


def test_an_answer_reads_right_only_when_it_is_the_text_exactly():
    from molmo_agent.embedded.reading import read_right

    assert read_right([" Print", "print", "Save As ", "Save"], ["Print", "Print", "Save As", "Save As"]) == [
        True, False, True, False]
    with pytest.raises(ValueError, match="2 answers for 1"):
        read_right(["a", "b"], ["a"])


class _Reader:
    """A backend (unit-test fake) that answers each request with ``answers``, in order, and keeps
    the requests it was asked."""

    def __init__(self, answers):
        self.answers, self.requests = answers, []

    def generate_batch(self, requests):
        self.requests += requests
        return self.answers[:len(requests)]


def test_reading_accuracy_asks_the_word_prompt_about_each_picture_and_counts_exact_answers():
    from molmo_agent.embedded.data import WORD_PROMPT
    from molmo_agent.embedded.reading import reading_accuracy, reading_pictures

    texts = [text for _, text in reading_pictures("gui-words", 6)]
    reader = _Reader([f" {t}" for t in texts[:4]] + ["Folder", texts[5].upper()])
    result = reading_accuracy(reader, "gui-words", 6)
    assert result["right"] == 4 and result["pictures"] == 6 and result["set"] == "gui-words"
    assert [r.prompt for r in reader.requests] == [WORD_PROMPT] * 6
    assert [r.images[0].size for r in reader.requests] == [(112, 112)] * 6
    assert all(r.max_new_tokens >= 2 * len(t) for r, t in zip(reader.requests, texts))


def test_the_reading_cli_reads_with_the_shipped_model_and_writes_its_answers(tmp_path):
    """The probe on the real shipped weights (which do not read: their answers are written, not
    scored here) writes one record per set with the set's own texts."""
    from molmo_agent.embedded import EMBEDDED_DIR
    from molmo_agent.embedded.reading import main, reading_pictures

    out = tmp_path / "read.json"
    assert main([str(EMBEDDED_DIR), "--sets", "letters", "--pictures", "4", "--threads", "1", "--out", str(out)]) == 0
    (result,) = json.loads(out.read_text())["results"]
    assert result["set"] == "letters" and result["pictures"] == 4 and 0 <= result["right"] <= 4
    assert [text for text, _ in result["examples"]] == [text for _, text in reading_pictures("letters", 4)]
    assert all(isinstance(answer, str) for _, answer in result["examples"])


def test_the_reading_cli_refuses_an_empty_set_before_loading_a_model(tmp_path, capsys):
    from molmo_agent.embedded.reading import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "no-model"), "--pictures", "0"])
    assert exit_info.value.code == 2 and "--pictures must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(("kept", "least_words"), [("embedded-experiment-words-more-extra", 2),
                                                   ("embedded-experiment-words-more2-extra", 2),
                                                   ("embedded-experiment-words-more3-extra", 8),
                                                   ("embedded-experiment-words-more4-extra", 14)])
def test_the_kept_words_stages_read_held_out_letters_and_words(kept, least_words):
    """The reading curriculum's kept states, end to end (picture -> model -> answer): they read
    held-out large letters, which the shipped model never does (the test below), and large GUI
    words, more of them the longer the words stage ran. Measured on these 40 pictures when they were
    kept: 7, 9, 9 and 12 letters, 3, 4, 13 and 20 words (chance: under 1 letter, 0.3 words)."""
    import torch

    from molmo_agent.backends import LocalMolmoBackend
    from molmo_agent.embedded.reading import reading_accuracy

    torch.set_num_threads(1)
    reader = LocalMolmoBackend.from_pretrained(CHECKPOINTS / kept, max_new_tokens=64)
    assert reading_accuracy(reader, "letters", 40)["right"] >= 5
    assert reading_accuracy(reader, "gui-words", 40)["right"] >= least_words


@pytest.mark.slow
def test_the_shipped_model_reads_none_of_the_held_out_letters():
    """What the kept reading states are measured against: the shipped model says "There are none."
    to every one of the 40 held-out large letters (once, not once per kept state)."""
    import torch

    from molmo_agent.backends import LocalMolmoBackend
    from molmo_agent.embedded import EMBEDDED_DIR
    from molmo_agent.embedded.reading import reading_accuracy

    torch.set_num_threads(1)
    shipped = LocalMolmoBackend.from_pretrained(EMBEDDED_DIR, max_new_tokens=64)
    assert reading_accuracy(shipped, "letters", 40)["right"] == 0
