"""Tiny random-weight checkpoints of every task for the serve tests (API, MCP, page)."""

from __future__ import annotations

from pathlib import Path

import torch

from trm.checkpoints import save_checkpoint
from trm.config import load_recipe
from trm.data.format import DatasetMetadata, open_split
from trm.data.grid.build import GridOptions, build_grids
from trm.data.grid.examples import generate, write_jsonl
from trm.data.sudoku.build_generated import build_from_generator
from trm.models import build_model

N_SUP = 3
# task -> (vocab_size, grid_shape)
SHAPES = {
    "sudoku": (8, (6, 6)),
    "sudoku4": (6, (4, 4)),
    "maze": (6, (7, 7)),
    "arc": (12, (30, 30)),
    "grid": None,
}


def _write_sudoku_data(data: Path, n: int) -> DatasetMetadata:
    build_from_generator(data, size=n, train_count=4, test_count=4, num_aug=0, seed=3)
    return open_split(data, "train").metadata


def _write_grid_data(data: Path) -> DatasetMetadata:
    """A user's own task (``trm data grids``): 3x3 to 5x5 gravity grids of two colours."""
    src = write_jsonl(data.parent / "gravity.jsonl", generate("gravity", 24, seed=0, max_size=5, colours=2))
    build_grids(data, src, GridOptions(test_fraction=0.25))
    return open_split(data, "train").metadata


def tiny_checkpoint(root: Path, kind: str, seed: int = 0) -> Path:
    """A run dir ``root/kind`` holding one checkpoint of a tiny random TRM for task ``kind``.

    Sudoku and grid runs also keep their dataset on disk (so examples come from it); the others have none.
    """
    task = "sudoku" if kind.startswith("sudoku") else kind
    run = root / kind
    data = run / "data"
    if task == "grid":
        meta = _write_grid_data(data)
    elif task == "sudoku":
        meta = _write_sudoku_data(data, SHAPES[kind][1][0])
    else:
        vocab, shape = SHAPES[kind]
        meta = DatasetMetadata(
            task=task,
            vocab_size=vocab,
            seq_len=shape[0] * shape[1],
            grid_shape=shape,
            num_puzzle_identifiers=1,
        )
    config = load_recipe(
        "quickstart",
        overrides=[
            f"out_dir={run}",
            f"data.path={data}",
            f"task={task}",
            "model.hidden_size=16",
            "model.num_heads=2",
            f"model.halt_max_steps={N_SUP}",
            "model.width_multiple=16",
            "model.H_cycles=1",
            "model.L_cycles=1",
            "model.puzzle_emb_len=2",
            *(["model.mixer=attention"] if task == "arc" else []),
        ],
    )  # fmt: skip  (ARC: an MLP-T over 900 positions would be 13M parameters even at this width)
    torch.manual_seed(seed)
    model = build_model(config, meta)
    save_checkpoint(run, step=1, epoch=0.0, model=model, config=config, metadata=meta)
    return run
