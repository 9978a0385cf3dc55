"""Training data: examples, the paper's prompt formats, PixMo and JSONL loaders, mixtures, packing.

    >>> from molmo_agent.training.data import Example, Turn
    >>> example = Example(image="cat.png", annotations=[[Turn("Point to the cat.", '<point x="10.0" y="20.0" alt="cat">cat</point>')]])
"""

from molmo_agent.training.data.example import Example, SkipCounter, Turn

__all__ = ["Example", "SkipCounter", "Turn"]
