"""The variant table: puzzle identifier -> (task, dihedral transform, colour map), as compact arrays.

Stored beside the splits of an ARC dataset:

    arc_variants.npz   task_index int32 [N+1] (-1 for the blank identifier 0), transform uint8 [N+1],
                       colour_map uint8 [N+1, 10]
    arc_tasks.json     one entry per task: name, source, role ("train" or "eval"), num_test, first/count of
                       its identifiers

Design choices:

- No per-variant Python objects: a lookup is an array index. Memory is 15 bytes per variant (4 + 1 + 10),
  so ~1M variants (ARC-AGI-1 + ConceptARC at 1,000 per task) take ~15 MB, linear in the number of variants;
  the per-task list grows with tasks (~1,000 entries), not variants. A 24 GiB machine is never the limit
  here (the model's puzzle-embedding table, 4 * d bytes per variant, is ~2 GB at d=512).
- A task's variants have consecutive identifiers, so ``first``/``count`` in ``arc_tasks.json`` describe them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trm.data.errors import InputError
from trm.data.format import atomic_file, atomic_write_text, read_json

VARIANTS_FILE = "arc_variants.npz"
TASKS_FILE = "arc_tasks.json"


@dataclass
class TaskInfo:
    name: str
    source: str
    role: str  # "train": all pairs trained on; "eval": demos trained on, test inputs held out
    num_test: int
    first: int  # first identifier of the task's variants
    count: int  # number of variants


@dataclass
class VariantTable:
    task_index: np.ndarray  # [N+1] int32, -1 at identifier 0 (blank)
    transform: np.ndarray  # [N+1] uint8
    colour_map: np.ndarray  # [N+1, 10] uint8
    tasks: list[TaskInfo]

    @property
    def num_identifiers(self) -> int:
        """Rows of the puzzle-identifier embedding: variants + 1 (the blank)."""
        return int(self.task_index.shape[0])

    def lookup(self, identifier: int) -> tuple[TaskInfo, int, np.ndarray]:
        """identifier -> (task, transform, colour map)."""
        k = int(self.task_index[identifier])
        if k < 0:
            raise KeyError(f"identifier {identifier} is the blank identifier, not a variant")
        return self.tasks[k], int(self.transform[identifier]), self.colour_map[identifier]

    def task_by_name(self) -> dict[str, int]:
        return {t.name: i for i, t in enumerate(self.tasks)}

    @classmethod
    def from_parts(
        cls, tasks: list[TaskInfo], transforms: list[np.ndarray], maps: list[np.ndarray]
    ) -> VariantTable:
        """Assemble from per-task arrays (in task order); fills ``first``/``count``."""
        counts = np.array([len(t) for t in transforms], dtype=np.int64)
        n = int(counts.sum())
        task_index = np.full(n + 1, -1, dtype=np.int32)
        task_index[1:] = np.repeat(np.arange(len(tasks), dtype=np.int32), counts)
        first = 1 + np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(tasks) else np.zeros(0, np.int64)
        for info, f, c in zip(tasks, first, counts, strict=True):
            info.first, info.count = int(f), int(c)
        transform = np.zeros(n + 1, dtype=np.uint8)
        colour_map = np.zeros((n + 1, 10), dtype=np.uint8)
        colour_map[0] = np.arange(10)
        if n:
            transform[1:] = np.concatenate(transforms)
            colour_map[1:] = np.concatenate(maps)
        return cls(task_index, transform, colour_map, tasks)

    def save(self, root: str | Path) -> None:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        with atomic_file(root / VARIANTS_FILE) as f:
            np.savez(f, task_index=self.task_index, transform=self.transform, colour_map=self.colour_map)
        text = json.dumps([t.__dict__ for t in self.tasks], indent=1) + "\n"
        atomic_write_text(root / TASKS_FILE, text)

    @classmethod
    def load(cls, root: str | Path) -> VariantTable:
        """Load from a dataset folder (or from one of its split folders)."""
        root = Path(root)
        if not (root / VARIANTS_FILE).exists() and (root.parent / VARIANTS_FILE).exists():
            root = root.parent
        if not (root / VARIANTS_FILE).exists():
            raise FileNotFoundError(
                f"{root}: no {VARIANTS_FILE}; is this an ARC dataset built by `trm data arc`?"
            )
        try:
            with np.load(root / VARIANTS_FILE, allow_pickle=False) as z:
                table = cls(z["task_index"], z["transform"], z["colour_map"], [])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # truncated, not an .npz
            raise InputError(f"not a readable variant table ({e})", file=str(root / VARIANTS_FILE)) from None
        records = read_json(root / TASKS_FILE)
        try:
            table.tasks = [TaskInfo(**d) for d in records]
        except TypeError as e:  # not a list of objects with TaskInfo's fields
            raise InputError(f"not a list of task records ({e})", file=str(root / TASKS_FILE)) from None
        if table.task_index.shape[0] != 1 + sum(t.count for t in table.tasks):
            raise InputError(
                f"{VARIANTS_FILE} and {TASKS_FILE} disagree on the number of variants", file=str(root)
            )
        return table
