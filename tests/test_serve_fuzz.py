"""Fuzz ``POST /api/solve``: random JSON bodies (and near-valid ones) never get a 500, always JSON."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve_helpers import tiny_checkpoint
from trm.serve.app import create_app
from trm.serve.registry import load_models
from trm.serve.request_io import Limits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    models = load_models([str(tiny_checkpoint(root, k)) for k in ("sudoku4", "maze", "arc")], "cpu")
    with TestClient(create_app(models, Limits(max_steps=4)), raise_server_exceptions=False) as c:
        yield c


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
cells = st.integers(min_value=-3, max_value=12) | st.integers() | st.booleans() | st.none()
grids = st.lists(st.lists(cells, min_size=0, max_size=8), min_size=0, max_size=8)
puzzle_text = st.text(alphabet='.0123456789#SGo \n|-+[]{},:"ab', max_size=120) | st.text(max_size=60)
near_valid = st.fixed_dictionaries(
    {"puzzle": puzzle_text | grids | json_values},
    optional={
        "model": st.sampled_from(["sudoku4", "maze", "arc", "nope", ""]) | json_values,
        "steps": st.integers(min_value=-2, max_value=6) | json_values,
        "ttc": st.sampled_from(["noise:k=2", "augment:k=2", "steps:n=2", "noise:k=0", "+", ""]) | json_values,
    },
)


def check(client, payload: bytes) -> None:
    r = client.post("/api/solve", content=payload, headers={"content-type": "application/json"})
    assert r.status_code < 500, (payload[:300], r.text[:500])
    body = r.json()
    if r.status_code >= 400:
        assert isinstance(body["error"], str) and body["error"]
    else:
        assert r.status_code == 200 and len(body["steps"]) >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | near_valid)
def test_random_json_bodies_never_500(client, body):
    check(client, json.dumps(body).encode())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_500(client, raw):
    check(client, raw)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["model", "index", "other"]), st.text(max_size=12), max_size=3))
def test_random_example_queries_never_500(client, params):
    r = client.get("/api/example", params=params)
    assert r.status_code < 500, (params, r.text[:500])
    assert ("error" in r.json()) == (r.status_code >= 400)
