"""Multi-process training under ``torchrun``: process group, ranks, gradient all-reduce.

Design choices:

- Single process is the default and needs nothing: ``WORLD_SIZE`` unset or 1 -> no process group.
- With ``WORLD_SIZE > 1`` (set by torchrun) the group is initialised from the environment, with
  NCCL on CUDA and gloo elsewhere (CPU runs work too). Each rank drives ``cuda:LOCAL_RANK``.
- Plain data parallelism, no DDP wrapper: every rank holds the whole model and the carry of its own
  share of the global batch; gradients are summed with ``all_reduce`` (the loss is already divided by
  the GLOBAL batch size), so every rank takes the same optimizer step and weights stay identical.
  The model is broadcast from rank 0 once at start.
- Sparse gradients (the puzzle-identifier embedding) are exchanged as (row, value) pairs, so
  sign-SGD on every rank sees the union of the rows of the global batch.
- Only rank 0 logs, evaluates and writes checkpoints; the others wait at a barrier.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Read torchrun's environment; initialise the process group when there is more than one rank."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def rank_device(device: torch.device, info: DistInfo) -> torch.device:
    """Each rank's own GPU under torchrun; other devices are shared as they are."""
    if device.type == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank)
    return device


def all_reduce_grads(params: Iterable[nn.Parameter], info: DistInfo) -> None:
    """Sum gradients over ranks (bucketed into one flat tensor per dtype to cut latency)."""
    if not info.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if any(g.is_sparse for g in grads):
        raise RuntimeError(
            "all_reduce_grads takes dense gradients; use all_reduce_sparse_grads for sparse ones"
        )
    by_dtype: dict[torch.dtype, list[Tensor]] = {}
    for g in grads:
        by_dtype.setdefault(g.dtype, []).append(g)
    for group in by_dtype.values():
        flat = torch.cat([g.reshape(-1) for g in group])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for g in group:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n


def all_reduce_sparse_grads(params: Iterable[nn.Parameter], info: DistInfo) -> None:
    """Sum sparse (row) gradients over ranks: gather every rank's (row, value) pairs, then coalesce.

    Row counts may differ between ranks, so each rank pads to the largest count with row -1, which
    is dropped after the gather (a padded row must not look present to sign-SGD).
    """
    if not info.enabled:
        return
    for p in params:
        if p.grad is None or not p.grad.is_sparse:
            continue
        g = p.grad.coalesce()
        idx, val = g.indices()[0], g.values()  # [R], [R, ...]
        count = torch.tensor([idx.numel()], device=idx.device)
        dist.all_reduce(count, op=dist.ReduceOp.MAX)
        pad = int(count.item()) - idx.numel()
        idx = torch.cat([idx, idx.new_full((pad,), -1)])
        val = torch.cat([val, val.new_zeros((pad, *val.shape[1:]))])
        idx_all = [torch.empty_like(idx) for _ in range(info.world_size)]
        val_all = [torch.empty_like(val) for _ in range(info.world_size)]
        dist.all_gather(idx_all, idx)
        dist.all_gather(val_all, val)
        idx, val = torch.cat(idx_all), torch.cat(val_all)
        keep = idx >= 0
        p.grad = torch.sparse_coo_tensor(idx[keep].unsqueeze(0), val[keep], g.shape).coalesce()


def all_reduce_sum(t: Tensor, info: DistInfo) -> Tensor:
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_rows(ids: Tensor, info: DistInfo) -> Tensor:
    """Concatenate every rank's ids [B] -> [world * B] (equal sizes on all ranks)."""
    if not info.enabled:
        return ids
    out = [torch.empty_like(ids) for _ in range(info.world_size)]
    dist.all_gather(out, ids)
    return torch.cat(out)


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    if not info.enabled:
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on some rank (a collective: all ranks must call it)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
