"""The quick-start's words: the speed note (rate against the expectation, time left) and why it stopped."""

from __future__ import annotations

import pytest

from trm.cli.quickstart import EXPECTED_EXAMPLES_PER_S, TARGET, SpeedNote, _outcome


def test_speed_note_on_a_slow_machine_says_how_much_slower_and_what_is_left():
    said = []
    note = SpeedNote(1500, 64, None, said.append)
    note(20, {"examples_per_s": 120.0})  # too early: the thread probe and warm-up are still in it
    assert not said
    note(100, {"examples_per_s": 120.0})
    note(200, {"examples_per_s": 500.0})  # said once
    assert len(said) == 1
    text = said[0]
    ratio = EXPECTED_EXAMPLES_PER_S / 120
    assert f"this machine did 120 examples/s, ~{ratio:.1f}x fewer than expected" in text
    assert f"until the model solves {TARGET:.0%} of the validation puzzles" in text
    assert f"~{1400 * 64 / 120 / 60:.1f} more minutes" in text
    assert note.rate == 120.0


def test_speed_note_at_the_expected_speed_does_not_call_it_slow():
    said = []
    SpeedNote(1500, 64, None, said.append)(100, {"examples_per_s": float(EXPECTED_EXAMPLES_PER_S)})
    assert "fewer than expected" not in said[0]


def test_speed_note_warns_when_the_cap_will_stop_training_first():
    said = []
    SpeedNote(1500, 64, 1.0, said.append)(100, {"examples_per_s": 100.0})  # ~15 min left, 1 min cap
    assert "--minutes 1 cap will stop it first" in said[0]


@pytest.mark.parametrize(
    ("stopped", "words"),
    [
        ("target_accuracy", "stopped at step 1,200: the model solves 98.3% of the validation puzzles"),
        ("max_minutes", "The cap, not the method, limited this result"),
        ("target_max_steps", "trained all 1,200 planned steps"),
    ],
)
def test_outcome_names_what_stopped_training(stopped, words):
    assert words in _outcome(stopped, 1200, 0.983, 2.0)
