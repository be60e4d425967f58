"""Choose a recipe from a dataset: ``trm train --data D [--minutes M]`` without ``--recipe``.

The choice is a table (:data:`RULES`), read top to bottom; the first row whose task and grid size fit
the dataset's metadata wins. Each row names the recipe for a CPU, the larger recipe worth knowing on a
CUDA GPU, and the measured figure it rests on (docs/recipes.md lists them with their sources). The
other metadata (vocabulary, number of training examples) and the time budget do not change the choice:
when they lie outside what the figure was measured on, the reason says so, since the figure may then
not carry over. Rows marked ``cpu=False`` are the papers' sizes (Maze-Hard 30x30, ARC): on a CPU they
are a :class:`~trm.errors.ConfigError` that names the paper's recipe, because no CPU recipe is measured
there and such a run takes GPU-days; ``--recipe`` still runs anything on anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trm.data.format import DatasetMetadata
from trm.errors import ConfigError, InputError


@dataclass(frozen=True)
class Rule:
    """One row of the table: which datasets it takes, its recipe, and what that rests on."""

    what: str  # the datasets, in words
    task: str | None  # the metadata's task; None: any task
    max_side: int | None  # the largest grid side it takes; None: any
    recipe: str  # on a CPU (and, unless ``cpu`` is False, on a GPU too)
    evidence: str  # the measured figure, with its source
    gpu_recipe: str | None = None  # named on a CUDA device: the paper's or a larger recipe
    cpu: bool = True  # False: the recipe needs a GPU; choosing it on a CPU is an error
    minutes: float | None = None  # the training time of the figure
    train_examples: int | None = None  # distinct training examples the figure was measured with
    symbols: tuple[int, int] | None = None  # the fewest and most symbols it was measured on


RULES: tuple[Rule, ...] = (
    Rule(
        "Sudoku up to 6x6",
        "sudoku",
        6,
        "quickstart",
        "98.2-99.4% held-out exact on generated 6x6 puzzles in 2.2-3.9 min on 2 cores (README)",
        minutes=4,
        train_examples=4000,
    ),
    Rule(
        "Sudoku up to 9x9",
        "sudoku",
        9,
        "sudoku9_cpu",
        "74-91% held-out exact on generated minimal 9x9 puzzles after 30 min on 2 cores (docs/learning.md)",
        gpu_recipe="sudoku_mlp",
        minutes=30,
        train_examples=5000,
    ),
    Rule(
        "mazes up to 9x9",
        "maze",
        9,
        "maze_cpu",
        "95.0% valid shortest paths (93.0% exact) on generated 9x9 mazes after 12 min on 2 cores "
        "(docs/learning.md)",
        gpu_recipe="maze_1gpu",
        minutes=12,
    ),
    Rule(
        "mazes up to 15x15",
        "maze",
        15,
        "maze11_cpu",
        "83.0% valid shortest paths (81.0% exact) on generated 11x11 mazes after 30 min on 2 cores, "
        "79.0% at maze_cpu's batch 64 (docs/learning.md)",
        gpu_recipe="maze_1gpu",
        minutes=30,
    ),
    Rule(
        "mazes larger than 15x15 (Maze-Hard is 30x30)",
        "maze",
        None,
        "maze_1gpu",
        "the TRM paper's Maze-Hard recipe: 85.3% exact, under 24 h on 4 L40S (maze.yaml); "
        "no CPU recipe is measured on mazes larger than 15x15",
        cpu=False,
    ),
    Rule(
        "ARC tasks (30x30 canvases)",
        "arc",
        None,
        "arc1",
        "the TRM paper's ARC-AGI-1 recipe (44.6% pass@2; arc2 for ARC-AGI-2), a 7M-parameter model on "
        "900-cell canvases; a CPU-sized TRM reached 4.2% pass@2 on 16 held-out ConceptARC tasks (README)",
        cpu=False,
    ),
    Rule(
        "grid tasks up to 6x6",
        None,
        6,
        "grid_tiny",
        "89-100% held-out exact on 6x6 rules (gravity, life, flood_fill, permute_map) in 1.9-4.7 min "
        "on 2 cores (docs/grid.md)",
        gpu_recipe="grid_small",
        minutes=5,
        train_examples=1800,
        symbols=(2, 4),
    ),
    Rule(
        "grid tasks up to 8x8",
        None,
        8,
        "grid8_cpu",
        "on 8x8 rules with 7,200 training examples, 5 min on 2 cores: life, permutation, symbol_map, "
        "permute_map 100% (from ~1 min), gravity 91.5%, flood_fill 81.5% held-out exact (docs/grid.md)",
        gpu_recipe="grid_small",
        minutes=5,
        train_examples=7200,
        symbols=(2, 4),
    ),
    Rule(
        "grid tasks larger than 8x8",
        None,
        None,
        "grid_small",
        "the GPU recipe for your own grids up to 30x30 (attention, d=256), not measured on grid tasks "
        "yet; on a CPU expect a slow run, or try --recipe grid_tiny",
    ),
)


def pick_rule(task: str, rows: int, cols: int) -> Rule:
    """The first row of :data:`RULES` whose task and largest grid side fit (the last row takes anything)."""
    side = max(rows, cols)
    for rule in RULES:
        if rule.task not in (None, task):
            continue
        if rule.max_side is None or side <= rule.max_side:
            return rule
    raise AssertionError("the last rule takes every dataset")  # pragma: no cover


@dataclass
class Choice:
    """A recipe for a dataset: its name, the rule behind it, why (one or two lines), and the overrides
    that point it at the dataset."""

    recipe: str
    rule: Rule
    reason: list[str]
    overrides: dict[str, Any] = field(default_factory=dict)


def read_dataset(path: str | Path) -> tuple[DatasetMetadata, bool]:
    """(the training split's metadata, whether a ``val`` split exists); errors name the path."""
    from trm.data.format import METADATA_FILE, REFERENCE_METADATA_FILE, open_split

    root = Path(path)
    if not root.is_dir():
        raise InputError(
            "no dataset folder here (build one with `trm data sudoku|maze|grids|example|arc`)", file=str(root)
        )
    meta = open_split(root, "train").metadata  # a missing or damaged split: an error naming its file
    val = root / "val"
    return meta, (val / METADATA_FILE).exists() or (val / REFERENCE_METADATA_FILE).exists()


def _describe(meta: DatasetMetadata) -> str:
    rows, cols = meta.grid_shape
    text = f"{meta.task!r} data on {rows}x{cols} grids, {meta.num_groups:,} training examples"
    if meta.task == "grid":
        text += f" over {meta.vocab_size - 2} symbols"
    return text


def _budget(train: Any) -> str:
    """The recipe's own budget in words (its train section)."""
    if train.max_steps and train.max_minutes:
        return f"a plan of {train.max_steps:,} steps, at most {train.max_minutes:g} min"
    if train.max_steps:
        return f"a plan of {train.max_steps:,} steps"
    if train.max_minutes:
        return f"{train.max_minutes:g} min"
    return f"{train.epochs:,} epochs"


def _cautions(rule: Rule, meta: DatasetMetadata, minutes: float | None) -> list[str]:
    """Where the dataset or budget lies outside what the rule's figure was measured on."""
    out = []
    if minutes is not None and rule.minutes is not None and minutes < rule.minutes:
        out.append(f"{minutes:g} min is less than the {rule.minutes:g} min of that figure: expect less")
    if rule.train_examples is not None and meta.num_groups < rule.train_examples:
        have = meta.num_groups
        out.append(f"it was measured with {rule.train_examples:,} training examples, this set has {have:,}")
    if rule.symbols is not None and meta.task == "grid":
        lo, hi = rule.symbols
        k = meta.vocab_size - 2
        if not lo <= k <= hi:
            out.append(f"it was measured on {lo}-{hi} symbols, this set has {k}")
    return out


def choose(
    meta: DatasetMetadata,
    path: str | Path,
    *,
    device: str = "cpu",
    minutes: float | None = None,
    has_val: bool = False,
) -> Choice:
    """The recipe for the dataset at ``path`` (its training split's ``meta``) on ``device`` ("cpu",
    "cuda" or "mps"), with the reason and the overrides (data path, out_dir ``runs/<folder name>``, the
    target-accuracy stop on ``val`` when there is one). ``minutes`` only shapes the reason here; the
    caller sets the budget."""
    from trm.config import load_recipe

    rows, cols = meta.grid_shape
    rule = pick_rule(meta.task, rows, cols)
    cuda = device == "cuda"
    if not rule.cpu and not cuda:
        raise ConfigError(
            f"{path} holds {_describe(meta)}: {rule.what}; its recipe is {rule.recipe}, {rule.evidence}, "
            f"and it needs a CUDA GPU (this device: {device}). On a GPU: trm train --data {path}; "
            f"to try it here anyway: trm train --recipe {rule.recipe} --data {path}"
        )
    config = load_recipe(rule.recipe)
    reason = [f"recipe {rule.recipe}: {path} holds {_describe(meta)}; {rule.what}: {rule.evidence}"]
    notes = [f"budget: {f'{minutes:g} min (--minutes)' if minutes else _budget(config.train)}"]
    notes += _cautions(rule, meta, minutes)
    overrides: dict[str, Any] = {"data.path": str(path), "out_dir": f"runs/{Path(path).resolve().name}"}
    if config.train.target_accuracy is not None and has_val:
        overrides["data.eval_split"] = "val"
        notes.append(f"the {config.train.target_accuracy:.0%} target stop reads the val split")
    if cuda and rule.gpu_recipe:
        notes.append(f"on this GPU --recipe {rule.gpu_recipe} is the larger option")
    reason.append("; ".join(notes))
    return Choice(rule.recipe, rule, reason, overrides)
