"""Two-process data-parallel training on CPU (gloo), as torchrun would start it.

Properties: every rank ends with identical weights; sparse embedding gradients are the union of
the ranks' rows; an interrupted 2-rank run resumes to the same weights as an uninterrupted one.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(
    rank: int, world: int, port: int, data: str, out: str, max_steps: int, resume: bool, dump: str
) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        OMP_NUM_THREADS="1",
    )
    torch.set_num_threads(1)
    from test_training_loop import tiny_config
    from trm.training import distributed as dist
    from trm.training.loop import Trainer

    trainer = Trainer(tiny_config(data, out, max_steps=max_steps), resume=resume, progress=False)
    try:
        trainer.run()
        torch.save({k: v.clone() for k, v in trainer.model.state_dict().items()}, f"{dump}.rank{rank}.pt")
        # Sparse gradients: rank r contributes row r+1 with value r+1; everyone sees rows {1, 2}, summed.
        p = torch.nn.Parameter(torch.zeros(4, 2))
        p.grad = torch.sparse_coo_tensor(
            torch.tensor([[rank + 1]]), torch.full((1, 2), float(rank + 1)), (4, 2)
        )
        dist.all_reduce_sparse_grads([p], trainer.info)
        torch.save(p.grad.to_dense(), f"{dump}.sparse{rank}.pt")
    finally:
        trainer.loader.close()
        dist.shutdown(trainer.info)


def _spawn(data, out, max_steps, resume, dump):
    mp.spawn(
        _worker, args=(2, _free_port(), data, str(out), max_steps, resume, str(dump)), nprocs=2, join=True
    )


def test_two_ranks_stay_identical_and_resume_exactly(tmp_path):
    from test_training_loop import _write_dataset

    data = _write_dataset(tmp_path / "data")
    _spawn(data, tmp_path / "full", 6, False, tmp_path / "full")
    w0, w1 = torch.load(f"{tmp_path}/full.rank0.pt"), torch.load(f"{tmp_path}/full.rank1.pt")
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    sparse = torch.load(f"{tmp_path}/full.sparse0.pt")
    assert sparse.tolist() == [[0, 0], [1, 1], [2, 2], [0, 0]]

    _spawn(data, tmp_path / "split", 3, False, tmp_path / "a")
    _spawn(data, tmp_path / "split", 6, True, tmp_path / "split")
    resumed = torch.load(f"{tmp_path}/split.rank1.pt")
    for k in w0:
        assert torch.equal(w0[k], resumed[k]), k
