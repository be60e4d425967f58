"""Selections on hand-made candidate sets: q, vote (ties by mean q) and verify (passing answers first)."""

from __future__ import annotations

import numpy as np

from trm.inference.ttc.select import select, select_q, select_verify, select_vote

A, B, C = [1, 1, 1], [2, 2, 2], [3, 3, 3]


def test_q_takes_the_highest_and_the_first_on_ties():
    q = np.array([[0.1, 0.9, 0.3], [0.5, 0.5, -1.0]])
    assert select_q(q).tolist() == [1, 0]


def test_vote_takes_the_most_frequent_answer():
    answers = np.array([[A, B, B, C], [C, A, C, C]])
    q = np.array([[9.0, 0.0, 0.0, 5.0], [-1.0, 8.0, -2.0, -3.0]])  # the majority wins even against high q
    assert select_vote(answers, q).tolist() == [1, 0]  # first candidate giving the winning answer


def test_vote_ties_go_to_the_higher_mean_q_then_the_earliest():
    answers = np.array([[A, B, A, B], [A, B, B, A]])
    q = np.array([[0.0, 1.0, 0.2, 0.0], [1.0, 0.5, 1.5, 1.0]])  # mean q: A 0.1 < B 0.5; A 1.0 == B 1.0
    assert select_vote(answers, q).tolist() == [1, 0]


def test_verify_prefers_passing_answers_then_q():
    q = np.array([[5.0, 1.0, 2.0], [5.0, 1.0, 2.0]])
    passes = np.array([[False, True, True], [False, False, False]])
    assert select_verify(q, passes).tolist() == [2, 0]  # none passes: plain q


def test_dispatch_matches_the_functions():
    answers, q = np.array([[A, B, B]]), np.array([[3.0, 1.0, 2.0]])
    passes = np.array([[False, True, False]])
    assert select("q", answers, q)[0] == 0
    assert select("vote", answers, q)[0] == 1
    assert select("verify", answers, q, passes)[0] == 1
