"""ARC protocol choices shared with the reference (issue 18): one demonstration per variant at the top-left,
the EMA leaves the puzzle embedding raw, the EOS corner cell is PAD (ignored), 1 + 1,000 variants."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trm.data.arc import augment
from trm.data.arc.build import DEFAULT_VARIANTS, build_arc_dataset, translation_offsets
from trm.data.arc.encode import COLOUR_OFFSET, EOS, PAD, SIDE, crop, encode_grid
from trm.data.arc.identifiers import VariantTable
from trm.data.format import open_split


def _write_task(path: Path, rng: np.random.Generator, n_train: int, n_test: int = 1) -> None:
    def pair() -> dict:
        g = rng.integers(0, 10, size=rng.integers(2, 6, size=2))
        return {"input": g.tolist(), "output": np.fliplr(g).tolist()}

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"train": [pair() for _ in range(n_train)], "test": [pair() for _ in range(n_test)]})
    )


def _top_left(tokens: np.ndarray) -> bool:
    """The stored grid starts at cell (0, 0) (every ARC colour, black included, is a token >= 2)."""
    t = np.asarray(tokens).reshape(SIDE, SIDE)
    return bool(t[0, 0] >= COLOUR_OFFSET)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    rng = np.random.default_rng(11)
    src = tmp_path_factory.mktemp("src")
    for i in range(2):
        _write_task(src / "training" / f"tr{i}.json", rng, n_train=4 + i)
    _write_task(src / "evaluation" / "ev0.json", rng, n_train=3, n_test=2)
    out = tmp_path_factory.mktemp("ds") / "ds"
    build_arc_dataset(
        out, train_sources=[str(src / "training")], eval_sources=[str(src / "evaluation")], variants=40
    )
    return out


def test_one_training_pair_per_variant_sits_at_the_top_left(built):
    train = open_split(built, "train")
    at_corner = np.array([_top_left(x) for x in np.asarray(train.inputs)])
    for p in range(train.num_puzzles):
        ex = list(train.examples_of_puzzle(p))
        assert at_corner[ex].sum() >= 1, f"variant {p} has no pair at the top-left"
        for e in ex:  # input and label of a pair share their offset
            assert _top_left(train.labels[e]) == at_corner[e]
    # the other pairs are translated: a 2..5-cell grid lands on (0, 0) by chance with p <= 1/625
    assert at_corner.sum() <= train.num_puzzles + 3
    assert train.num_examples - at_corner.sum() > 2 * train.num_puzzles
    test = open_split(built, "test")  # test inputs always sit at the top-left
    assert all(_top_left(x) for x in np.asarray(test.inputs))


def test_translation_offsets_zero_exactly_one_random_pair_per_variant():
    offsets = translation_offsets(np.random.default_rng(0), 500, 4)
    zero = (offsets == 0).all(axis=2)  # [V, P]
    assert (zero.sum(axis=1) == 1).all()
    assert set(np.argmax(zero, axis=1).tolist()) == {
        0,
        1,
        2,
        3,
    }  # the kept pair is drawn, not always the first
    assert translation_offsets(np.random.default_rng(0), 3, 0).shape == (3, 0, 2)


def test_eos_corner_cell_is_pad_and_never_scored(built, rng):
    grid = rng.integers(0, 10, size=(4, 7)).astype(np.uint8)
    tokens = encode_grid(grid).reshape(SIDE, SIDE)
    assert tokens[4, 7] == PAD and (tokens[4, :7] == EOS).all() and (tokens[:4, 7] == EOS).all()
    for value in range(12):  # whatever a model predicts at the corner, the cropped answer is the same
        t = tokens.copy()
        t[4, 7] = value
        assert np.array_equal(crop(t), grid)
    # in the built data the corner label is the ignored label, so the loss and token metrics skip it
    test = open_split(built, "test")
    ignore = test.metadata.ignore_label_id
    for e in range(test.num_examples):
        y = np.asarray(test.labels[e]).reshape(SIDE, SIDE)
        h, w = crop(y).shape
        if h < SIDE and w < SIDE:
            assert y[h, w] == ignore == PAD


def test_default_variant_count_is_the_original_plus_1000(tmp_path, rng):
    assert DEFAULT_VARIANTS == 1001
    assert inspect.signature(build_arc_dataset).parameters["variants"].default == DEFAULT_VARIANTS
    _write_task(
        tmp_path / "ev" / "big.json", rng, n_train=2
    )  # 2..5-cell grids of 10 colours: > 1001 variants
    build_arc_dataset(tmp_path / "ds", train_sources=[], eval_sources=[str(tmp_path / "ev")])
    table = VariantTable.load(tmp_path / "ds")
    assert table.tasks[0].count == 1001
    t, cmap = int(table.transform[1]), table.colour_map[1]
    assert t == 0 and np.array_equal(cmap, augment.IDENTITY_MAP)  # the first is the original


def _tiny_model_with_table():
    from trm.config import ModelConfig
    from trm.models import build_model

    cfg = ModelConfig(
        hidden_size=16, num_heads=2, num_layers=1, H_cycles=1, L_cycles=1, puzzle_emb_len=2,
        width_multiple=16, vocab_size=12, seq_len=8, num_puzzle_identifiers=5,
    )  # fmt: skip
    torch.manual_seed(0)
    return build_model(cfg)


def test_ema_averages_the_network_and_keeps_the_raw_puzzle_embedding():
    from trm.training.ema import EMA, puzzle_embedding_names

    model = _tiny_model_with_table()
    table_names = puzzle_embedding_names(model)
    assert table_names == ["embed.puzzle.weight"]
    ema = EMA(model, rate=0.5)
    assert not set(table_names) & set(ema.names) and len(ema.names) == len(list(model.parameters())) - 1
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    sd = ema.model_state_dict(model)  # what ema.safetensors holds
    raw_table = model.puzzle_emb.weight.detach()
    assert torch.equal(sd["embed.puzzle.weight"], raw_table)  # the current table, not an average
    for n in ema.names:
        assert torch.allclose(sd[n], before[n] + 0.5, atol=1e-6), n  # 0.5 * old + 0.5 * (old + 1)
    with ema.applied(model):  # evaluation: averaged network, raw table
        assert torch.equal(model.puzzle_emb.weight, raw_table)
        assert torch.allclose(
            dict(model.named_parameters())["lm_head.weight"], before["lm_head.weight"] + 0.5
        )
    fresh = _tiny_model_with_table()
    fresh.load_state_dict(sd, strict=True)  # loading code needs no change
    assert EMA(model, 0.5, exclude=[]).names == [n for n, _ in model.named_parameters()]
