"""``Solver.solve(puzzle, ttc=...)``: one puzzle with test-time compute; the chosen answer, every candidate.

The result is a :class:`TTCSolution`, a :class:`trm.inference.trace.Solution` whose answer, validity and
step trace are those of the chosen candidate (its trajectory, mapped back to the puzzle's frame, up to the
steps it took), plus every candidate, the index chosen and the network calls spent. ``verify`` runs the
task's rule checker on the candidates (never a label: a puzzle to solve has none).

With a gate (``smc:...,gate=q|agree``) a puzzle the plain pass is sure of is not searched: the engine fills
the search's candidate slots with the plain answer at no cost (steps 0). Those placeholders are not
candidates here: ``candidates`` holds the trajectories that ran, and ``searched`` says whether the search
did.

A particle search (``smc:...``) also keeps its particles step by step (``particles``, a
:class:`~trm.inference.ttc.particle_trace.ParticleTrace` over the same candidates, the chosen one marked);
so do several noise trajectories (``noise:k=K``, K > 1), as particles that are never resampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from trm.inference.trace import Puzzle, Solution, build_solution
from trm.inference.ttc.engine import TTCRunner, rule_verdicts
from trm.inference.ttc.particle_trace import ParticleTrace, has_particles, trace_from_candidates
from trm.inference.ttc.spec import TTCSpec, parse_spec


@dataclass
class Candidate:
    """One trajectory's answer, in the puzzle's own frame."""

    index: int  # c = copy * noise_k + trajectory
    copy: int  # augmented copy (0 = the puzzle itself)
    trajectory: int  # noise trajectory (0 = no noise)
    answer: np.ndarray  # decoded grid at ``step``
    q_halt: float  # halting signal at ``step``
    step: int  # 1-based supervision step the answer is read at
    valid: bool  # the task's rules accept it


@dataclass
class TTCSolution(Solution):
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int = 0  # index into candidates
    calls: int = 0  # network calls spent on the puzzle
    spec: TTCSpec | None = None
    searched: bool = True  # False: a gate kept the plain answer and the search did not run
    particles: ParticleTrace | None = None  # smc or noise:k>1: every particle after every step, else None


def solve_with_ttc(
    solver, puzzle: Puzzle, ttc: str | TTCSpec, *, steps: int | None = None, puzzle_identifier: int = 0
) -> TTCSolution:
    """Solve one puzzle with ``solver`` (a :class:`trm.inference.solver.Solver`) under spec ``ttc``;
    ``steps`` sets the spec's step count when the spec does not."""
    spec = parse_spec(ttc) if isinstance(ttc, str) else ttc
    if steps is not None and spec.steps is None:
        spec = replace(spec, steps=steps)
    meta, task = solver.metadata, solver.task
    shape = tuple(meta.grid_shape)
    question = solver.parse(puzzle)
    tokens = task.encode(question, shape)[None]  # [1, L]
    engine = TTCRunner(
        solver.model,
        spec,
        task=meta.task,
        grid_shape=shape,
        vocab_size=meta.vocab_size,
        device=solver.device,
        dtype=solver.dtype,
    )
    cands = engine.run(tokens, np.array([puzzle_identifier]), record_steps=True)
    at = spec.answer_step()
    answers, q = cands.answers(at)
    passes = rule_verdicts(task, tokens, answers, shape)  # [1, K]
    chosen = int(cands.choose(passes={at: passes})[0])
    ran = cands.steps[0] > 0  # a gate's placeholder slots (steps 0) never ran: they copy the plain pass
    if not ran[chosen]:  # selections break ties to the lower index, so this is a guard: the same answer
        chosen = 0
    step_of = cands.best_step if at == "best" else cands.steps
    noise_k = spec.noise_k
    candidates = [
        Candidate(
            index=c,
            copy=c // noise_k,
            trajectory=c % noise_k,
            answer=task.decode(answers[0, c], shape),
            q_halt=float(q[0, c]),
            step=int(step_of[0, c]),
            valid=bool(passes[0, c]),
        )
        for c in np.flatnonzero(ran)
    ]
    taken = int(cands.steps[0, chosen])
    trace = build_solution(
        task, meta, question, cands.every[:taken, 0, chosen], cands.every_q[:taken, 0, chosen]
    )
    position = [c.index for c in candidates].index(chosen)
    pick = candidates[position]
    return TTCSolution(
        question=question,
        answer=pick.answer,
        valid=pick.valid,
        trace=trace.trace,
        halted_at=trace.halted_at,
        task=trace.task,
        symbols=trace.symbols,
        candidates=candidates,
        chosen=position,
        calls=int(cands.calls[0]),
        spec=spec,
        searched=bool(cands.searched[0]) if cands.searched is not None else True,
        particles=trace_from_candidates(cands, 0, ran, chosen) if has_particles(spec) else None,
    )


def describe(solution: TTCSolution) -> str:
    """One paragraph for ``trm solve --ttc``: how many candidates ran, which was chosen, what it cost, and
    whether a gate kept the plain answer."""
    spec = solution.spec
    k = len(solution.candidates)
    pick = solution.candidates[solution.chosen]
    answers = {c.answer.tobytes() for c in solution.candidates}
    agree = sum(c.answer.tobytes() == pick.answer.tobytes() for c in solution.candidates)
    valid = sum(c.valid for c in solution.candidates)
    select = spec.select if spec is not None else "q"
    gated = ""
    if spec is not None and spec.gate != "none":
        gated = (
            f"; gate={spec.gate}: searched ({k} of {spec.candidates} candidates ran)"
            if solution.searched
            else f"; gate={spec.gate} kept the plain answer: the search did not run ({k} of "
            f"{spec.candidates} candidates ran)"
        )
    return (
        f"test-time compute: {k} candidate{'s' if k != 1 else ''} ({len(answers)} distinct "
        f"answer{'s' if len(answers) != 1 else ''}, {valid} valid by the rules); "
        f"select={select} chose candidate {pick.index} (copy {pick.copy}, trajectory {pick.trajectory}, "
        f"step {pick.step}, q_halt {pick.q_halt:+.2f}), given by {agree} of {k}; "
        f"{solution.calls:,} network calls{gated}"
    )
