"""Dataset generators: PixMo-Points-style pointing/counting, captions + short QA, AndroidControl episodes."""
