"""A user's own grid task: examples from JSONL, CSV or ARC-style files -> a dataset -> a model that solves it.

``parse`` reads the accepted grid forms, ``vocab`` maps symbols to tokens, ``augment`` draws dihedral and
symbol-permutation variants, ``build`` writes trm's dataset format, ``task`` is the ``grid`` codec the
trainer, evaluator, solver and pictures use, and ``examples`` generates two small tasks to try it on.
"""
