"""Known pretrained checkpoints on the Hugging Face hub, in the reference format (``trm models``).

The accuracies are what their authors or the ARC Prize reported, not measured by trm; the sizes are
the papers' parameter counts for the architecture (puzzle embedding excluded). Every entry loads
with ``hf://<repo>[/<subfolder>]`` wherever a ``--checkpoint`` is taken.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownCheckpoint:
    repo: str  # owner/name on the hub
    subfolder: str | None
    model: str  # architecture, as the papers name it
    task: str  # trm task name
    benchmark: str
    params: str  # the paper's parameter count for this architecture
    reported: str  # accuracy as reported, with its metric
    source: str  # who reported it

    @property
    def spec(self) -> str:
        return f"hf://{self.repo}" + (f"/{self.subfolder}" if self.subfolder else "")


KNOWN = [
    KnownCheckpoint("Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-mlp", None, "TRM MLP-T", "sudoku",
                    "Sudoku-Extreme", "5.0M", "84.8% exact", "community reproduction"),
    KnownCheckpoint("Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-att", None, "TRM attention", "sudoku",
                    "Sudoku-Extreme", "6.8M", "77.7% exact", "community reproduction"),
    KnownCheckpoint("Sanjin2024/TinyRecursiveModel-Maze-Hard", None, "TRM attention", "maze",
                    "Maze-Hard 30x30", "6.8M", "78.7% exact", "community reproduction"),
    KnownCheckpoint("Sanjin2024/TinyRecursiveModels-ARC-AGI-1", None, "TRM attention", "arc",
                    "ARC-AGI-1", "6.8M", "41.0% pass@2", "community reproduction"),
    KnownCheckpoint("arcprize/trm_arc_prize_verification", "arc_v1_public", "TRM attention", "arc",
                    "ARC-AGI-1", "6.8M", "40.0% pass@2 (semi-private)", "ARC Prize verification"),
    KnownCheckpoint("arcprize/trm_arc_prize_verification", "arc_v2_public", "TRM attention", "arc",
                    "ARC-AGI-2", "6.8M", "6.2% pass@2 (semi-private)", "ARC Prize verification"),
    KnownCheckpoint("sapientinc/HRM-checkpoint-sudoku-extreme", None, "HRM", "sudoku",
                    "Sudoku-Extreme", "27.3M", "55.0% exact", "HRM paper"),
    KnownCheckpoint("sapientinc/HRM-checkpoint-maze-30x30-hard", None, "HRM", "maze",
                    "Maze-Hard 30x30", "27.3M", "74.5% exact", "HRM paper"),
    KnownCheckpoint("sapientinc/HRM-checkpoint-ARC-2", None, "HRM", "arc",
                    "ARC-AGI-2", "27.3M", "5.0% pass@2", "HRM paper"),
]  # fmt: skip
