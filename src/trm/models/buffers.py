"""Large CPU buffers that the SwiGLU gradient calls reuse from one training step to the next.

A training step of the paper models keeps every SwiGLU intermediate of its T(n+1)... gradient calls
for the backward (gate, up, silu, their product: ``[N, inter]`` each, 64 MiB for MLP-T's at batch 64
in fp32) and allocates two more per backward call. Tensors that large are above glibc's mmap
threshold, so each one was mapped fresh and page-faulted in on every step: in a profile of the fp32
``sudoku_mlp`` step (batch 16, AVX2 kernels, 1 thread) the token mixer's gate and up products ran at
21 GFLOP/s into fresh tensors against 65 into a reused one, and ``act * up`` took 37 ms against 4
(``docs/speed.md``, "fp32 without bf16").

``BufferPool`` hands out views of buffers it keeps, and hands a buffer out again only when nothing
else holds its memory any more: its storage's reference count shows whether a saved tensor of a
live autograd graph, a returned result or any view still uses it, so a buffer is never written while
something can read it. The results are those of fresh allocations (the same ops, written with
``out=``). Each SwiGLU weight has its own pool (``pool_for``), freed with the weight; while a model is
alive its pools keep the memory of its largest training step (what that step needs at its peak
anyway). Only CPU tensors of at least ``MIN_BYTES`` are pooled (smaller ones come from the heap,
which reuses memory already); never while traced or compiled (the callers check).
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

MIN_BYTES = 1 << 20  # smaller buffers are allocated as usual


def _in_use(buffer: Tensor) -> bool:
    """True while anything but the pool holds ``buffer``'s storage (a view, a saved tensor, ...)."""
    # the pool's tensor and the temporary storage object below hold one reference each
    return torch._C._storage_Use_Count(buffer.untyped_storage()._cdata) > 2


class BufferPool:
    """Reusable contiguous CPU tensors, keyed by shape and dtype; safe to share between threads."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[tuple[int, ...], torch.dtype], list[Tensor]] = {}
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """An uninitialised contiguous CPU tensor: a pooled buffer nothing else holds, else a new one."""
        shape = tuple(shape)
        if dtype.itemsize * torch.Size(shape).numel() < MIN_BYTES:
            return torch.empty(shape, dtype=dtype)
        with self._lock:  # the check and the new view happen together
            buffers = self._buffers.setdefault((shape, dtype), [])
            free = next((b for b in buffers if not _in_use(b)), None)
            if free is None:
                free = torch.empty(shape, dtype=dtype)
                buffers.append(free)
            return free.view(shape)  # the caller's view marks the buffer as in use

    def __len__(self) -> int:
        """Buffers kept (in use or free)."""
        return sum(len(b) for b in self._buffers.values())


_POOLS = WeakIdKeyDictionary()  # weight -> its BufferPool (by identity: tensors compare elementwise)
_POOLS_LOCK = threading.Lock()


def pool_for(weight: Tensor) -> BufferPool:
    """The pool of the layer that owns ``weight`` (created on first use, dropped with the weight)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(weight)
        if pool is None:
            pool = _POOLS[weight] = BufferPool()
        return pool
