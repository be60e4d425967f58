"""Shared pieces of the fuzz tests (tests/test_fuzz_*.py): bounded hypothesis settings and strategies.

CI runs a fixed, derandomized set of examples (fast, and a failure reproduces on every machine).
``TRM_FUZZ_EXAMPLES=5000`` runs that many random examples per test instead, to search for new failures.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from trm.data.errors import InputError

_DEEP = int(os.environ.get("TRM_FUZZ_EXAMPLES", "0"))

FUZZ = settings(
    max_examples=_DEEP or 40,
    derandomize=not _DEEP,
    deadline=None,
    database=None,  # no .hypothesis folder from CI runs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Any JSON value, nested a few levels deep.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def mutate(text: str, data: st.DataObject, alphabet: str) -> str:
    """``text`` with a few characters replaced, deleted or inserted (near-valid input reaches deeper)."""
    chars = list(text)
    for _ in range(data.draw(st.integers(0, 3), label="edits")):
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="op")
        i = data.draw(st.integers(0, max(len(chars) - 1, 0)), label="at")
        ch = data.draw(st.sampled_from(alphabet) | st.characters(), label="char")
        if op == "insert" or not chars:
            chars.insert(i, ch)
        elif op == "delete":
            del chars[i]
        else:
            chars[i] = ch
    return "".join(chars)


def input_errors_only(fn, *args, **kwargs):
    """Call ``fn``; our InputError is an accepted outcome (returns None), any other exception fails."""
    try:
        return fn(*args, **kwargs)
    except InputError as e:
        assert str(e), "an InputError must say what is wrong"
        return None
