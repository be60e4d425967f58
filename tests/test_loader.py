"""The training stream (epoch semantics, resume, sharding) and the padded evaluation batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from trm.data.format import DatasetMetadata, open_split, write_split
from trm.data.loader import TrainLoader, epoch_order, eval_batches, num_eval_batches
from trm.scoring import IGNORE_LABEL

SEQ = 3


def build_split(root, sizes, examples=None, ignore_label_id=0):
    """Groups of ``sizes[g]`` puzzles. Example rows encode where they came from: inputs [g, p, k] (+1 so
    that 0 stays the pad token), labels equal inputs except cell 0 which is the ignore label."""
    examples = examples or [1] * sum(sizes)
    rows, pi, gi, p = [], [0], [0], 0
    for g, size in enumerate(sizes):
        for _ in range(size):
            for k in range(examples[p]):
                rows.append([g + 1, p + 1, k + 1])
            pi.append(len(rows))
            p += 1
        gi.append(p)
    inputs = np.array(rows)
    labels = inputs.copy()
    labels[:, 0] = 0
    meta = DatasetMetadata(
        task="toy",
        vocab_size=64,
        seq_len=SEQ,
        grid_shape=(1, SEQ),
        num_puzzle_identifiers=p + 1,
        ignore_label_id=ignore_label_id,
    )
    write_split(
        root,
        "train",
        inputs=inputs,
        labels=labels,
        puzzle_identifiers=np.arange(1, p + 1),
        puzzle_indices=np.array(pi),
        group_indices=np.array(gi),
        metadata=meta,
    )
    return open_split(root, "train")


@pytest.fixture
def split(tmp_path):
    return build_split(tmp_path, sizes=[3, 1, 4, 2, 5, 3, 2])  # 7 groups, 20 puzzles, 1 example each


def take(loader, n):
    return [next(loader) for _ in range(n)]


def test_each_epoch_uses_exactly_one_puzzle_of_every_group(split):
    for epoch in range(4):
        order = epoch_order(split, seed=5, epoch=epoch)
        groups = split.inputs[order, 0] - 1
        assert sorted(groups.tolist()) == list(range(split.num_groups))
        puzzles = split.inputs[order, 1] - 1
        for g, p in zip(groups, puzzles, strict=True):
            assert p in split.puzzles_of_group(int(g))
    orders = [epoch_order(split, 5, e).tolist() for e in range(6)]
    assert len({tuple(o) for o in orders}) > 1  # epochs differ
    assert orders == [epoch_order(split, 5, e).tolist() for e in range(6)]  # same seed, same order
    assert orders != [epoch_order(split, 6, e).tolist() for e in range(6)]


def test_every_variant_is_eventually_drawn(split):
    seen = {int(i) for e in range(60) for i in epoch_order(split, 0, e)}
    assert seen == set(range(split.num_examples))


def test_all_examples_of_the_chosen_puzzle_are_emitted_together(tmp_path):
    split = build_split(tmp_path, sizes=[2, 1, 2], examples=[2, 3, 1, 4, 4])
    for epoch in range(5):
        order = epoch_order(split, 1, epoch)
        rows = split.inputs[order]
        puzzles = [k for k, _ in itertools.groupby(rows[:, 1].tolist())]
        assert len(puzzles) == 3  # one run per group, contiguous
        for p in puzzles:
            assert (rows[rows[:, 1] == p, 2] == np.arange(1, len(split.examples_of_puzzle(p - 1)) + 1)).all()
    loader = TrainLoader(split, batch_size=2)
    assert loader.examples_per_epoch == round(2.5 + 1 + 4)  # expected count when variants differ in size


def test_examples_order_passes_over_every_stored_example_once_per_epoch(split):
    orders = [epoch_order(split, 3, e, order="examples") for e in range(4)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(split.num_examples))  # all 20 variants, once each
    assert len({tuple(o.tolist()) for o in orders}) == 4  # reshuffled every epoch
    assert np.array_equal(orders[2], epoch_order(split, 3, 2, order="examples"))  # recomputable alone
    loader = TrainLoader(split, batch_size=5, seed=3, order="examples")
    assert loader.examples_per_epoch == split.num_examples == 20
    got = torch.cat([b["inputs"] for b in take(loader, 8)]).numpy()  # 40 examples: two epochs
    assert np.array_equal(got, split.inputs[np.concatenate(orders[:2])])
    assert loader.epoch == 2 and loader.epochs_done == 2.0


def test_a_state_of_one_order_does_not_resume_another(split):
    first = TrainLoader(split, batch_size=4, seed=1, order="examples")
    take(first, 3)
    state = first.state_dict()
    assert state["order"] == "examples" and "order" not in TrainLoader(split, 4, seed=1).state_dict()
    with pytest.raises(ValueError, match="data order 'examples'.*'groups'"):
        TrainLoader(split, batch_size=4, seed=1).load_state_dict(state)
    resumed = TrainLoader(split, batch_size=4, seed=1, order="examples")
    resumed.load_state_dict(state)
    want = take(first, 2)
    for a, b in zip(want, take(resumed, 2), strict=True):
        assert torch.equal(a["inputs"], b["inputs"])
    with pytest.raises(ValueError, match="unknown data order 'sorted'"):
        TrainLoader(split, batch_size=4, order="sorted")


def test_stream_is_the_concatenation_of_epochs_cut_into_batches(split):
    loader = TrainLoader(split, batch_size=5, seed=2)
    assert loader.examples_per_epoch == 7 and loader.local_batch_size == 5
    batches = take(loader, 7)  # 35 examples = 5 epochs exactly
    stream = np.concatenate([epoch_order(split, 2, e) for e in range(5)])
    got = torch.cat([b["inputs"] for b in batches]).numpy()
    assert np.array_equal(got, split.inputs[stream])
    assert loader.epoch == 5 and loader.state_dict()["offset"] == 0
    b = batches[0]
    assert b["inputs"].shape == (5, SEQ) and b["inputs"].dtype == torch.int64
    assert b["labels"].dtype == torch.int64 and (b["labels"][:, 0] == IGNORE_LABEL).all()
    assert torch.equal(b["labels"][:, 1:], b["inputs"][:, 1:])
    assert torch.equal(b["puzzle_identifiers"], b["inputs"][:, 1])  # identifier p+1 for puzzle p


def test_ignore_label_none_keeps_every_label(tmp_path):
    split = build_split(tmp_path, sizes=[1, 1], ignore_label_id=None)
    batch = next(TrainLoader(split, batch_size=2))
    assert (batch["labels"][:, 0] == 0).all()


def test_batch_larger_than_an_epoch_spans_several_epochs(split):
    loader = TrainLoader(split, batch_size=16, seed=0)
    batch = next(loader)
    assert loader.epoch == 2 and loader.state_dict()["offset"] == 2
    assert loader.epochs_done == pytest.approx(2 + 2 / 7)
    expected = np.concatenate([epoch_order(split, 0, e) for e in range(3)])[:16]
    assert np.array_equal(batch["inputs"].numpy(), split.inputs[expected])


@pytest.mark.parametrize("prefetch", [0, 2])
def test_resume_mid_epoch_continues_the_identical_sequence(split, prefetch):
    reference = take(TrainLoader(split, batch_size=4, seed=9), 12)
    first = TrainLoader(split, batch_size=4, seed=9, prefetch=prefetch)
    take(first, 5)  # 20 examples: epoch 2, offset 6
    state = first.state_dict()
    assert (state["epoch"], state["offset"]) == (2, 6)
    first.close()
    resumed = TrainLoader(split, batch_size=4, seed=9, prefetch=prefetch)
    resumed.load_state_dict(state)
    for want, got in zip(reference[5:], take(resumed, 7), strict=True):
        for key in want:
            assert torch.equal(want[key], got[key]), key
    resumed.close()


def test_state_from_another_seed_is_refused(split):
    state = TrainLoader(split, batch_size=4, seed=1).state_dict()
    with pytest.raises(ValueError, match="seed 1"):
        TrainLoader(split, batch_size=4, seed=2).load_state_dict(state)


def test_ranks_get_disjoint_slices_whose_union_is_the_global_batch(split):
    whole = take(TrainLoader(split, batch_size=6, seed=4), 5)
    ranks = [take(TrainLoader(split, batch_size=6, seed=4, rank=r, world_size=3), 5) for r in range(3)]
    for step in range(5):
        parts = [ranks[r][step]["inputs"] for r in range(3)]
        assert all(p.shape == (2, SEQ) for p in parts)
        assert torch.equal(torch.cat(parts), whole[step]["inputs"])
    with pytest.raises(ValueError, match="not divisible"):
        TrainLoader(split, batch_size=7, world_size=2)


def test_eval_batches_cover_every_example_once_with_padding(split):
    batches = list(eval_batches(split, batch_size=8))
    assert len(batches) == num_eval_batches(split, 8) == 3
    mask = torch.cat([b["mask"] for b in batches])
    index = torch.cat([b["index"] for b in batches])
    assert mask.sum() == 20 and torch.equal(index[mask], torch.arange(20))
    last = batches[-1]
    assert last["inputs"].shape == (8, SEQ) and last["mask"].tolist() == [True] * 4 + [False] * 4
    assert (last["inputs"][4:] == 0).all() and (last["labels"][4:] == IGNORE_LABEL).all()
    assert (last["index"][4:] == -1).all()
    real = torch.cat([b["inputs"] for b in batches])[mask]
    assert np.array_equal(real.numpy(), split.inputs[:])


def test_eval_limit_and_sharding(tmp_path):
    split = build_split(tmp_path, sizes=[1, 1, 1, 1], examples=[2, 1, 3, 1])
    batches = list(eval_batches(split, batch_size=4, limit=2))
    assert len(batches) == 1 and batches[0]["index"].tolist() == [0, 1, 2, -1]
    for rank in range(2):
        shard = list(eval_batches(split, batch_size=4, rank=rank, world_size=2))
        assert len(shard) == 2  # the same count on every rank
    union = sorted(
        int(i)
        for r in range(2)
        for b in eval_batches(split, 4, rank=r, world_size=2)
        for i in b["index"]
        if i >= 0
    )
    assert union == list(range(7))
