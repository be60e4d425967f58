"""Exponential moving average of a model's weights (TRM: rate 0.999; evaluation and checkpoints use it).

Design choices:

- The shadow copy holds every floating-point parameter (fp32, on the model's device) EXCEPT the
  puzzle-identifier embedding (``model.puzzle_emb``), which the reference keeps out of its EMA (there it is
  a buffer). Each row of that table is updated only when its variant is in a batch, so an average would
  lag by the rate's ~1,000 steps exactly the rows trained last; evaluation pairs the averaged network with
  the raw, current table, as the reference does. (It also saves a copy of a ~2 GB table for ARC.)
  ``exclude`` names other parameters to leave raw.
- ``update`` is shadow <- rate * shadow + (1 - rate) * param, one fused ``_foreach_lerp_``.
  No bias correction; the papers use a plain EMA. ``warmup=True`` makes the rate of update t (counted
  from 1) ``min(rate, (1 + t) / (10 + t))``: 0.18 at the first step, 0.9 at t=80, 0.99 at t=890, so an
  average taken in the first thousand steps is not dominated by the random initial weights. The trainer
  passes its own step, so a resumed run continues the same schedule.
- Buffers are not averaged; ``model_state_dict`` returns the model's own state dict with the averaged
  parameters replaced by their averages (the raw puzzle-embedding table stays), so ``ema.safetensors``
  loads into a fresh model with ``load_state_dict(strict=True)`` and evaluates like the reference.
- ``applied(model)`` swaps the averages into the model for evaluation and restores the raw weights
  bit-exactly afterwards (copies, not recomputation), so evaluating never perturbs training.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


def puzzle_embedding_names(model: nn.Module) -> list[str]:
    """Names (in ``model.named_parameters()``) of the parameters of ``model.puzzle_emb``, if it has one."""
    emb = getattr(model, "puzzle_emb", None)
    if emb is None:
        return []
    ids = {id(p) for p in emb.parameters()}
    return [n for n, p in model.named_parameters() if id(p) in ids]


class EMA:
    def __init__(
        self,
        model: nn.Module,
        rate: float = 0.999,
        *,
        exclude: Iterable[str] | None = None,
        warmup: bool = False,
    ):
        """Average ``model``'s floating-point parameters but those in ``exclude`` (default: the puzzle
        embedding, see the module docstring); ``warmup`` ramps the rate up (module docstring)."""
        if not 0.0 < rate < 1.0:
            raise ValueError(f"EMA rate must lie in (0, 1), got {rate}")
        self.rate = rate
        self.warmup = warmup
        skip = set(puzzle_embedding_names(model) if exclude is None else exclude)
        self.names = [n for n, p in model.named_parameters() if p.is_floating_point() and n not in skip]
        params = dict(model.named_parameters())
        self.shadow: dict[str, Tensor] = {n: params[n].detach().clone() for n in self.names}

    def _params(self, model: nn.Module) -> list[Tensor]:
        params = dict(model.named_parameters())
        return [params[n].detach() for n in self.names]

    def rate_at(self, step: int | None) -> float:
        """The rate of update number ``step`` (from 1); the plain rate without warm-up or step."""
        if not self.warmup or step is None:
            return self.rate
        return min(self.rate, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        rate = self.rate_at(step)
        torch._foreach_lerp_(list(self.shadow.values()), self._params(model), 1.0 - rate)

    def state_dict(self) -> dict[str, Tensor]:
        return dict(self.shadow)

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        missing = sorted(set(self.names) - set(state))
        extra = sorted(set(state) - set(self.names))
        if missing or extra:
            raise KeyError(
                f"EMA state does not match the model: missing {missing[:5]}, unexpected {extra[:5]}"
            )
        for n in self.names:
            self.shadow[n].copy_(state[n])

    def model_state_dict(self, model: nn.Module) -> dict[str, Tensor]:
        """The model's state dict with the averaged parameters replaced by their averages."""
        sd = model.state_dict()
        for n in self.names:
            sd[n] = self.shadow[n]
        return sd

    @contextmanager
    def applied(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily load the averages into ``model`` (restores the raw weights on exit)."""
        params = dict(model.named_parameters())
        backup = {n: params[n].detach().clone() for n in self.names}
        with torch.no_grad():
            for n in self.names:
                params[n].copy_(self.shadow[n])
        try:
            yield model
        finally:
            with torch.no_grad():
                for n in self.names:
                    params[n].copy_(backup[n])
