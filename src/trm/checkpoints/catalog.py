"""Known pretrained checkpoints on the Hugging Face hub (``trm models``); which ones this machine reaches.

The accuracies are what their authors, the papers or the ARC Prize reported, not measured by trm;
``params`` are the papers' parameter counts for the architecture (puzzle embedding excluded);
``download`` is what ``hf://`` fetches for one checkpoint, where it is known. Every entry names the
one command that evaluates it and the command that builds its dataset. ARC checkpoints index their
puzzle embeddings by the reference builder's ``identifiers.json``: their dataset must be built the
same way for the numbers to be comparable.

``check`` asks the hub (one connection probe with a short timeout first, so an offline machine
answers at once) whether each entry's repository is listed and which file ``hf://`` would fetch.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

_DATA = {
    "sudoku": ("trm data sudoku data/sudoku-extreme -s hub", "data/sudoku-extreme"),
    "maze": ("trm data maze data/maze-hard --source hub", "data/maze-hard"),
    "arc1": ("trm data arc data/arc1 --set arc1", "data/arc1"),
    "arc2": ("trm data arc data/arc2 --set arc2", "data/arc2"),
}
# The TRM paper's ARC architecture (its training command), for a step file published without config.
TRM_ARC_ARCH = "H_cycles=3,L_cycles=4,num_heads=8,halt_max_steps=16,puzzle_emb_len=16,no_ACT_continue=true"


@dataclass(frozen=True)
class KnownCheckpoint:
    repo: str  # owner/name on the hub
    subfolder: str | None  # folder or file inside it
    model: str  # architecture, as the papers name it
    dataset: str  # key of _DATA: sudoku, maze, arc1, arc2
    benchmark: str
    params: str  # the paper's parameter count for this architecture
    reported: str  # accuracy as reported, with its metric
    source: str  # who reported it
    layout: str  # how the repository holds it
    download: str | None = None  # size of what hf:// fetches, where known
    arch: str | None = None  # --arch a config-less file needs (the paper's settings)
    loads: bool = True  # False: trm refuses it (the layout or architecture is not supported)

    @property
    def task(self) -> str:
        return "arc" if self.dataset.startswith("arc") else self.dataset

    @property
    def spec(self) -> str:
        return f"hf://{self.repo}" + (f"/{self.subfolder}" if self.subfolder else "")

    @property
    def data_command(self) -> str:
        return _DATA[self.dataset][0]

    @property
    def eval_command(self) -> str:
        data = _DATA[self.dataset][1]
        arch = f" --arch {self.arch}" if self.arch else ""
        if self.task == "arc":
            return f"trm arc evaluate --checkpoint {self.spec}{arch} --data {data}"
        return f"trm eval --checkpoint {self.spec}{arch} --data {data}"


def _k(*args, **kwargs) -> KnownCheckpoint:
    return KnownCheckpoint(*args, **kwargs)


REF = "step_N + all_config.yaml"
KNOWN = [
    _k("Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-mlp", None, "TRM MLP-T", "sudoku", "Sudoku-Extreme",
       "5.0M", "84.8% exact", "community reproduction", REF),
    _k("Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-att", None, "TRM attention", "sudoku", "Sudoku-Extreme",
       "6.8M", "77.7% exact", "community reproduction", REF),
    _k("Sanjin2024/TinyRecursiveModel-Maze-Hard", None, "TRM attention", "maze", "Maze-Hard 30x30",
       "6.8M", "78.7% exact", "community reproduction", REF),
    _k("Sanjin2024/TinyRecursiveModels-ARC-AGI-1", None, "TRM attention", "arc1", "ARC-AGI-1",
       "6.8M", "41.0% pass@2", "community reproduction", REF),
    _k("arcprize/trm_arc_prize_verification", "arc_v1_public", "TRM attention", "arc1", "ARC-AGI-1",
       "6.8M", "40.0% pass@2 (semi-private)", "ARC Prize verification",
       "subfolders of the repository root, step_N + all_config.yaml", "1.8 GB"),
    _k("arcprize/trm_arc_prize_verification", "arc_v2_public", "TRM attention", "arc2", "ARC-AGI-2",
       "6.8M", "6.2% pass@2 (semi-private)", "ARC Prize verification",
       "subfolders of the repository root, step_N + all_config.yaml"),
    _k("MaximeILL/GAR_ckpts", "TRM-MLP-Sudoku-Extreme.pt", "TRM MLP-T", "sudoku", "Sudoku-Extreme",
       "5.0M", "85.9% exact", "GAR authors", "X.pt + X.yaml, several per repository"),
    _k("ThomasHeim/HRM-Reproduction-Checkpoints", "sudoku-extreme/original-hrm", "HRM", "sudoku",
       "Sudoku-Extreme", "27.3M", "53% exact", "reproduction (HRM paper: 55%)",
       "subfolders, 20 step_N files each (the highest is used; @step=N picks one)"),
    _k("ThomasHeim/HRM-Reproduction-Checkpoints", "sudoku-extreme/augmented-hrm", "HRM", "sudoku",
       "Sudoku-Extreme", "27.3M", "54.2% exact (peak single checkpoint)",
       "reproduction of Ren & Liu's augmented HRM (59.9% in their paper)",
       "subfolders, 40 step_N files each (the highest is used; @step=N picks one)"),
    _k("glouriousgautam/ptrm-sudoku-trm", None, "TRM", "sudoku", "Sudoku-Extreme", "-",
       "not reported for this file (PTRM paper: 87.4% deterministic, 98.75% with noise sampling)",
       "PTRM paper", "checkpoints/<run>/ folders: name one in the spec"),
    _k("alphaXiv/trm-model-arc-agi-1", None, "TRM attention", "arc1", "ARC-AGI-1", "6.8M",
       "not reported", "-", "a step file without config: --arch gives the paper's ARC settings",
       arch=TRM_ARC_ARCH),
    _k("Trelis/TRM-ARC-AGI-II", None, "TRM attention", "arc2", "ARC-AGI-2", "6.8M",
       "~10% on the public evaluation set (6.67% semi-private after post-training)", "Trelis paper",
       "10 step files (the highest is used; @step=N picks one)", "2.5 GB"),
    _k("sapientinc/HRM-checkpoint-sudoku-extreme", None, "HRM", "sudoku", "Sudoku-Extreme",
       "27.3M", "55.0% exact", "HRM paper", "checkpoint + all_config.yaml"),
    _k("sapientinc/HRM-checkpoint-maze-30x30-hard", None, "HRM", "maze", "Maze-Hard 30x30",
       "27.3M", "74.5% exact", "HRM paper", "checkpoint + all_config.yaml"),
    _k("sapientinc/HRM-checkpoint-ARC-2", None, "HRM", "arc2", "ARC-AGI-2",
       "27.3M", "5.0% pass@2", "HRM paper", "checkpoint + all_config.yaml"),
    _k("bnsh/HRM-checkpoint-sudoku-full", None, "HRM", "sudoku", "Sudoku-Extreme (full training set)",
       "27.3M", "97.3% exact at 8 steps", "its model card",
       "as sapientinc's; learned position embeddings, which trm refuses", loads=False),
]  # fmt: skip


def _endpoint() -> tuple[str, int]:
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)


def probe(timeout: float) -> str | None:
    """None when the hub's host accepts a connection within ``timeout`` seconds, else why not."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    host, port = _endpoint()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        return f"no connection to {host}:{port} ({e.strerror or type(e).__name__})"
    return None


def check(entries: list[KnownCheckpoint], timeout: float = 3.0) -> list[tuple[KnownCheckpoint, bool, str]]:
    """(entry, reachable, what was found) for each entry."""
    from trm.checkpoints.errors import CheckpointError
    from trm.checkpoints.hub import choose, list_files, parse_spec

    offline = probe(timeout)
    out = []
    for entry in entries:
        if offline is not None:
            out.append((entry, False, f"unreachable: {offline}"))
            continue
        spec = parse_spec(entry.spec)
        try:
            files = list_files(spec)
        except CheckpointError as e:
            out.append((entry, False, "unreachable: " + str(e).removeprefix(f"{entry.spec}: ")))
            continue
        try:
            choice = choose(spec, files)
        except CheckpointError as e:  # listed, but the spec does not name one checkpoint
            out.append((entry, True, "reachable; " + str(e).removeprefix(f"{entry.spec}: ")))
            continue
        extra = len(choice.files) - 1
        fetch = f"reachable: would fetch {choice.weights}" + (f" (+{extra} small files)" if extra else "")
        out.append((entry, True, fetch))
    return out
