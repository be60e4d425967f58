"""Maze-Hard: parse, validate, solve, generate, augment and build maze datasets.

Tokens: PAD 0, ``#`` 1, `` `` 2, ``S`` 3, ``G`` 4, ``o`` 5 (vocab 6), grid [side, side] row-major.
Modules: ``grid`` (text layout, validation), ``search`` (BFS, path counting, labelled path),
``generate`` (hard mazes offline), ``augment`` (dihedral variants), ``build`` (datasets), ``metrics``
(valid path, valid shortest path), ``task`` (the codec used by evaluation and ``trm solve``).
"""

from trm.data.maze.build import (
    build_dataset,
    build_from_files,
    build_from_hub,
    build_generated,
    read_csv,
    write_csv,
)
from trm.data.maze.generate import MazeRecord, generate_maze, generate_records, summarize
from trm.data.maze.grid import (
    CHARSET,
    GOAL,
    OPEN,
    PAD,
    PATH,
    START,
    VOCAB_SIZE,
    WALL,
    format_maze,
    parse_maze,
    render_maze,
)
from trm.data.maze.metrics import is_valid_path, is_valid_shortest_path, maze_metrics
from trm.data.maze.search import count_shortest_paths, distances, labelled_path, shortest_path_length, solve

__all__ = [
    "CHARSET",
    "GOAL",
    "OPEN",
    "PAD",
    "PATH",
    "START",
    "VOCAB_SIZE",
    "WALL",
    "MazeRecord",
    "build_dataset",
    "build_from_files",
    "build_from_hub",
    "build_generated",
    "count_shortest_paths",
    "distances",
    "format_maze",
    "generate_maze",
    "generate_records",
    "is_valid_path",
    "is_valid_shortest_path",
    "labelled_path",
    "maze_metrics",
    "parse_maze",
    "read_csv",
    "render_maze",
    "shortest_path_length",
    "solve",
    "summarize",
    "write_csv",
]
