"""The --ttc spec: what each strategy, option and default means, and errors that name the character."""

from __future__ import annotations

import pytest

from trm.inference.ttc import TTCSpec, TTCSpecError, parse_spec


def test_strategies_compose_and_multiply_the_candidates():
    s = parse_spec("augment:k=4+noise:k=4,sigma=0.2,select=vote,seed=3")
    assert (s.augment_k, s.noise_k, s.candidates, s.sigma, s.select, s.seed) == (4, 4, 16, 0.2, "vote", 3)
    s = parse_spec("steps:n=32,exit=q")
    assert (s.steps, s.early_exit, s.candidates) == (32, True, 1)
    assert parse_spec("noise:k=8,on=zy").noise_on == "zy"


def test_plain_pass_reads_the_last_step_and_selections_their_own_step():
    assert parse_spec("steps:n=16").answer_step() == "last"  # one candidate, no select: the plain pass
    s = parse_spec("noise:k=8")
    assert (s.select, s.answer_step(), s.answer_step("vote"), s.answer_step("verify")) == (
        "q", "best", "last", "best",
    )  # fmt: skip
    assert parse_spec("noise:k=8,at=last").answer_step("q") == "last"
    assert parse_spec("steps:n=4,select=q").answer_step() == "best"
    assert TTCSpec() == TTCSpec(steps=None, noise_k=1, augment_k=1)


@pytest.mark.parametrize(
    ("spec", "position", "words"),
    [
        ("", 1, "empty"),
        ("nois:k=2", 1, "unknown strategy 'nois'"),
        ("noise:k=two", 7, "not an integer"),
        ("noise:k=2+augment:k=0", 19, "k must be >= 1"),
        ("noise:k=2,sigma=-1", 11, "sigma must be >= 0"),
        ("noise:k=2,sigma=nan", 11, "not finite"),
        ("augment:k=2,select=best", 13, "not one of q, vote, wvote, verify"),
        ("steps:n=4,k=2", 11, "steps has no option 'k'"),
        ("noise:k=2+noise:k=3", 11, "given twice"),
        ("noise:k=2,select=q+augment:k=2,select=vote", 32, "'select' is given twice"),
        ("noise:k", 7, "not key=value"),
    ],
)
def test_bad_specs_name_the_character(spec, position, words):
    with pytest.raises(TTCSpecError) as err:
        parse_spec(spec)
    assert err.value.position + 1 == position, str(err.value)
    assert words in str(err.value) and f"character {position}" in str(err.value)
