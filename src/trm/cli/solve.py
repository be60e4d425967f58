"""``trm solve``: solve one puzzle with a checkpoint; optionally show every refinement step and draw it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm.cli.checkpoint_args import (
    ArchConfigOption,
    ArchOption,
    CheckpointOption,
    StepOption,
    VerifyOption,
    load_options,
)
from trm.cli.inference_args import DeviceOption, ttc_option
from trm.cli.threads_arg import SolveThreadsOption

TtcOption = ttc_option("noise:k=16,sigma=0.2 or augment:k=8,select=vote.")


def solve(
    puzzle: Annotated[
        str, typer.Argument(help="The puzzle text (e.g. 81 characters, '.' = blank) or a file holding it.")
    ],
    checkpoint: CheckpointOption,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Supervision steps (default: the model's N_sup).")
    ] = None,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Print every step's grid with the changed cells marked (with --ttc smc:...: and a line per "
            "step on the particles: how many give the final answer, run, were resampled away; their p_halt).",
        ),
    ] = False,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Draw the answer into this PNG (cells changed from the question marked)."),
    ] = None,
    strip: Annotated[
        Path | None, typer.Option("--strip", help="Draw every step side by side into this PNG.")
    ] = None,
    gif: Annotated[
        Path | None, typer.Option("--gif", help="Animate the steps into this GIF (one frame per step).")
    ] = None,
    device: DeviceOption = "auto",
    puzzle_id: Annotated[
        int, typer.Option("--puzzle-id", help="Puzzle identifier (ARC: the task variant's id).")
    ] = 0,
    verify: VerifyOption = True,
    ttc: TtcOption = None,
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
    threads: SolveThreadsOption = "auto",
) -> None:
    """Solve a puzzle: print the answer, whether it is valid, and where the halting head would stop."""
    from rich.console import Console

    from trm.viz.render import grid_text, refinement_gif, refinement_png, render_png, trace_text

    console = Console()
    spec = None
    if ttc is not None:
        from trm.inference.ttc import parse_spec

        spec = parse_spec(ttc)  # a bad spec is a one-line error before the checkpoint loads
    if checkpoint.endswith(".onnx"):  # an exported model: onnxruntime + NumPy, no torch (trm.runtime)
        from trm.runtime import OnnxSolver
        from trm.threads import parse_threads

        solver = OnnxSolver(checkpoint, threads=parse_threads(threads, "--threads") or None)
    else:
        from trm.cli.threads_arg import fixed_threads
        from trm.inference.solver import Solver

        fixed_threads(threads)

        solver = Solver.load(
            checkpoint, device=device, verify=verify, **load_options(arch, arch_config, step)
        )
    solution = solver.solve(puzzle, steps=steps, puzzle_identifier=puzzle_id, ttc=spec)  # bad puzzle: exit 2
    if trace:
        console.print(trace_text(solution))
        particles = getattr(solution, "particles", None)  # a particle search (smc) keeps its particles
        if particles is not None:
            from trm.inference.ttc.particle_trace import summary_lines

            for line in summary_lines(particles):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
    console.print("[bold]question[/bold]")
    symbols = solution.symbols  # a user grid task's own symbols (None: the task draws its values)
    console.print(grid_text(solution.question, task=solution.task, symbols=symbols))
    changed = (
        solution.answer != solution.question if solution.answer.shape == solution.question.shape else None
    )
    console.print("[bold]answer[/bold]")
    console.print(
        grid_text(
            solution.answer, task=solution.task, question=solution.question, changed=changed, symbols=symbols
        )
    )
    verdict = "[bold green]valid[/bold green]" if solution.valid else "[bold red]not valid[/bold red]"
    halt = f"step {solution.halted_at}" if solution.halted_at else "never (q_halt <= 0 at every step)"
    console.print(f"{verdict} after {len(solution.trace)} steps; the halting head would stop at: {halt}")
    if spec is not None:
        from trm.inference.ttc.solve import describe

        console.print(describe(solution))
    if png is not None:
        render_png(
            solution.answer,
            png,
            question=solution.question,
            changed=changed,
            task=solution.task,
            symbols=symbols,
        )
        console.print(f"answer drawn to {png}")
    if strip is not None:
        refinement_png(solution, strip)
        console.print(f"steps drawn to {strip}")
    if gif is not None:
        refinement_gif(solution, gif)
        console.print(f"animation written to {gif}")
