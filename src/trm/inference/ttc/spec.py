"""The test-time compute SPEC: ``noise:k=16,sigma=0.2,select=q``, ``augment:k=8+noise:k=4``, ``steps:n=32``.

Grammar: strategies joined by ``+``, each ``name`` or ``name:key=value,key=value``. Strategies:

- ``steps:n=N[,exit=q]``: N supervision steps per trajectory (default: the model's N_sup); ``exit=q``
  stops a trajectory at its first step with a positive halting signal (fewer calls).
- ``noise:k=K[,sigma=S][,on=z|y|zy][,until=U]``: K trajectories per copy of the puzzle; Gaussian noise of
  scale S (default 0.1; the states are RMS-normalised, so S is relative to a unit RMS) is added to ``on``
  (default ``z``) before every supervision step, or with ``until=U`` before the first U steps only (the
  trajectory then settles without noise). Trajectory 0 has no noise.
- ``augment:k=K``: K symmetric copies of the puzzle (copy 0 is the puzzle itself), each answer mapped back.
- ``smc:k=K[,sigma=S][,on=z|y|zy][,resample=q|ess|none][,every=N][,stop=q|agree|none][,conf=C]
  [,gate=none|q|agree][,tau=T][,wave=W][,until=U]``: particle search (sequential Monte Carlo,
  :mod:`.particles`): K particles, particle 0 the noise-free reference, particles 1..K-1 noisy (as
  ``noise``) and resampled every N supervision steps with weights sigmoid(halting signal);
  ``resample=ess`` (default) only when their effective sample size falls below half their number.
  ``stop=q`` (default) ends a puzzle's particles once their mean halting probability reaches C (default
  0.5); ``agree`` also needs them all to give one answer. ``gate=q`` runs the plain pass first and
  searches only the puzzles whose halting probability is below T (default 0.5), ``gate=agree`` only
  those where one noisy probe disagrees with it; the others keep the plain answer. ``wave=W`` (with a
  gate) runs the searched particles W at a time and stops a puzzle's search once one of its candidates
  other than the plain pass ends with a halting probability >= T: the halting head as the verifier, so
  compute goes to the puzzles where no confident answer has turned up yet. Answers are read at the last
  step; ``select=q`` (the default; it beat ``wvote`` on our quick-start model, docs/ttc.md) or any other.

Candidates per puzzle = augment k x noise k (or smc k). Options that are not a strategy's own may follow
any part:

- ``select=q|vote|wvote|verify``: ``q`` takes the candidate with the highest halting logit; ``vote`` the
  most frequent answer (ties: the higher mean q); ``wvote`` the answer with the largest summed halting
  probability (a q-weighted vote); ``verify`` prefers answers that pass the task's rule checker
  (never the label), then ``q``. Default ``q``.
- ``at=best|last``: which step of a trajectory is its candidate: ``best`` = the step where its halting
  logit is highest (ties: the later step), ``last`` = the final step. Default: ``best`` for ``q`` and
  ``verify``, ``last`` for ``vote``; a spec with one candidate and no ``select`` gives the last step (the
  plain pass).
- ``seed=S``: seed of the noise and of the drawn symmetries (default 0).

A bad spec is a ``TTCSpecError`` that quotes the spec and the 1-based character where the problem is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from trm.data.errors import InputError

SELECTIONS = ("q", "vote", "wvote", "verify")
SMC_KEYS = ("k", "sigma", "on", "until", "resample", "every", "stop", "conf", "gate", "tau", "wave")
STRATEGY_KEYS = {
    "steps": ("n", "exit"),
    "noise": ("k", "sigma", "on", "until"),
    "augment": ("k",),
    "smc": SMC_KEYS,
}
GLOBAL_KEYS = ("select", "at", "seed")


class TTCSpecError(InputError):
    """A test-time compute spec that cannot be read; the message names the character (1-based)."""

    def __init__(self, spec: str, position: int, problem: str) -> None:
        super().__init__(f"--ttc {spec!r}, character {position + 1}: {problem}")
        self.spec, self.position, self.problem = spec, position, problem


@dataclass(frozen=True)
class TTCSpec:
    """A parsed spec; ``TTCSpec()`` is the plain pass (one trajectory, the model's N_sup steps)."""

    steps: int | None = None  # supervision steps N (None: the model's N_sup)
    early_exit: bool = False  # stop a trajectory at its first positive halting signal
    noise_k: int = 1  # trajectories per copy (trajectory 0 noise-free)
    sigma: float = 0.1
    noise_on: str = "z"  # "z", "y" or "zy"
    until: int = 0  # noise before the first U supervision steps only (0: before every step)
    augment_k: int = 1  # symmetric copies (copy 0 = the puzzle)
    select: str = "q"
    at: str | None = None  # "best" | "last" | None: the selection's default (see answer_step)
    seed: int = 0
    select_given: bool = False  # whether the spec named a selection
    smc: bool = False  # particle search: noise_k particles, resampled by the halting head
    resample: str = "ess"  # "q" (every ``every`` steps), "ess" (when ESS < half the particles), "none"
    every: int = 1  # resample every N supervision steps
    stop: str = "q"  # "q" | "agree" | "none": when a puzzle's particles stop early
    conf: float = 0.5  # mean halting probability at which they stop
    gate: str = "none"  # "none" | "q" | "agree": search only the puzzles the plain pass is unsure of
    tau: float = 0.5  # the gate's halting-probability threshold
    wave: int = 0  # gated search: particles per wave (0: all at once); stop once a candidate is sure

    @property
    def candidates(self) -> int:
        """Candidates per puzzle: augment k x noise k."""
        return self.augment_k * self.noise_k

    def answer_step(self, select: str | None = None) -> str:
        """'best' or 'last': which step of each trajectory selection ``select`` (default: ours) reads."""
        if self.at is not None:
            return self.at
        if self.smc:  # resampled lineages: a particle's answer is its last one
            return "last"
        if self.candidates == 1 and not self.select_given:
            return "last"
        return "last" if (select or self.select) == "vote" else "best"

    def with_selection(self, select: str) -> TTCSpec:
        return replace(self, select=select, select_given=True)


def _value(spec: str, pos: int, key: str, text: str, kind: type, low: float | None = None):
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise TTCSpecError(spec, pos, f"{key}={text!r} is not {what}") from None
    if kind is float and not math.isfinite(value):
        raise TTCSpecError(spec, pos, f"{key}={text!r} is not finite")
    if low is not None and value < low:
        raise TTCSpecError(spec, pos, f"{key} must be >= {low:g}, got {text}")
    return value


def _choice(spec: str, pos: int, key: str, text: str, options: tuple[str, ...]) -> str:
    if text not in options:
        raise TTCSpecError(spec, pos, f"{key}={text!r} is not one of {', '.join(options)}")
    return text


def parse_spec(spec: str) -> TTCSpec:
    """Read a spec (see the module docstring) into a :class:`TTCSpec`."""
    if not spec or not spec.strip():
        raise TTCSpecError(spec, 0, "the spec is empty (try steps:n=16, noise:k=8, smc:k=8 or augment:k=4)")
    fields: dict[str, object] = {}
    seen: set[str] = set()
    pos = 0
    for part in spec.split("+"):
        name, _, options = part.partition(":")
        stripped = name.strip()
        if stripped not in STRATEGY_KEYS:
            raise TTCSpecError(spec, pos, f"unknown strategy {stripped!r}; known: {', '.join(STRATEGY_KEYS)}")
        if stripped in seen:
            raise TTCSpecError(spec, pos, f"strategy {stripped!r} is given twice")
        seen.add(stripped)
        opt_pos = pos + len(name) + 1
        for item in options.split(",") if options else []:
            key, eq, text = (s.strip() for s in item.partition("="))
            if not eq or not key or not text:
                raise TTCSpecError(spec, opt_pos, f"{item!r} is not key=value")
            _set(spec, opt_pos, stripped, key, text, fields)
            opt_pos += len(item) + 1
        pos += len(part) + 1
    if "smc" in seen:
        if "noise" in seen:
            raise TTCSpecError(spec, spec.index("smc"), "smc and noise both set the trajectories; use one")
        if fields.get("gate", "none") != "none" and "augment" in seen:
            raise TTCSpecError(
                spec, spec.index("gate"), "a gate compares with the plain pass: not with augment"
            )
        if fields.get("wave", 0) and fields.get("gate", "none") == "none":
            raise TTCSpecError(spec, spec.index("wave"), "wave=W needs a gate (gate=q or gate=agree)")
        if fields.get("gate") == "agree" and fields.get("noise_k", 1) == 1:
            raise TTCSpecError(
                spec, spec.index("gate"), "gate=agree needs k >= 2 (the plain pass and a probe)"
            )
        fields["smc"] = True
    if "select" in fields:
        fields["select_given"] = True
    return TTCSpec(**fields)  # type: ignore[arg-type]


def _set(spec: str, pos: int, strategy: str, key: str, text: str, fields: dict[str, object]) -> None:
    if key not in STRATEGY_KEYS[strategy] and key not in GLOBAL_KEYS:
        known = ", ".join(STRATEGY_KEYS[strategy] + GLOBAL_KEYS)
        raise TTCSpecError(spec, pos, f"{strategy} has no option {key!r}; known: {known}")
    if key in GLOBAL_KEYS and key in fields:
        raise TTCSpecError(spec, pos, f"option {key!r} is given twice")
    if key == "select":
        fields["select"] = _choice(spec, pos, key, text, SELECTIONS)
    elif key == "at":
        fields["at"] = _choice(spec, pos, key, text, ("best", "last"))
    elif key == "seed":
        fields["seed"] = _value(spec, pos, key, text, int, 0)
    elif strategy == "steps" and key == "n":
        fields["steps"] = _value(spec, pos, key, text, int, 1)
    elif key == "exit":
        fields["early_exit"] = _choice(spec, pos, key, text, ("q", "none")) == "q"
    elif strategy in ("noise", "smc") and key == "k":
        fields["noise_k"] = _value(spec, pos, key, text, int, 1)
    elif key in ("resample", "stop", "gate"):
        options = {
            "resample": ("q", "ess", "none"), "stop": ("q", "agree", "none"), "gate": ("none", "q", "agree")
        }  # fmt: skip
        fields[key] = _choice(spec, pos, key, text, options[key])
    elif key in ("every", "wave", "until"):
        fields[key] = _value(spec, pos, key, text, int, 1)
    elif key in ("conf", "tau"):
        fields[key] = _value(spec, pos, key, text, float, 0)
        if fields[key] > 1:
            raise TTCSpecError(spec, pos, f"{key} is a probability, must be <= 1, got {text}")
    elif key == "sigma":
        fields["sigma"] = _value(spec, pos, key, text, float, 0)
    elif key == "on":
        fields["noise_on"] = _choice(spec, pos, key, text, ("z", "y", "zy"))
    else:  # augment k
        fields["augment_k"] = _value(spec, pos, key, text, int, 1)
