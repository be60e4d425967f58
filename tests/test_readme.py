"""The README's first screen stays true: its two commands exist, CI runs the test one, the main one works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from trm.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _first_screen_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "the README's first code block is missing"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_the_two_make_commands_and_ci_runs_the_test_one():
    assert _first_screen_commands() == ["make quickstart", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^quickstart:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "trm quickstart" in makefile
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert ci[-1].strip() == "make test"


def test_every_command_has_help():
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    commands = ["quickstart", "train", "eval", "solve", "plot", "recipes", "version"]
    commands += ["data sudoku", "data maze", "data arc", "arc score", "arc evaluate", "arc show"]
    commands += ["convert", "models", "push", "export", "serve", "mcp", "arc adapt"]
    commands += ["data grids", "data example", "data verify", "llm eval", "llm compare", "llm prompt"]
    for command in commands:
        res = runner.invoke(app, [*command.split(), "--help"])
        assert res.exit_code == 0, (command, res.output)
        assert "Usage" in res.output


def test_python_dash_m_trm_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "trm", "version"], capture_output=True, text=True, check=True)
    import trm

    assert out.stdout.strip() == trm.__version__


def test_quickstart_runs_end_to_end_on_a_tiny_budget(tmp_path):
    """The main job with a few seconds of training: every stage runs and leaves its outputs behind."""
    out = tmp_path / "qs"
    args = ["quickstart", "--out", str(out), "--minutes", "0.05", "--train-puzzles", "40"]
    args += ["--test-puzzles", "8", "--val-puzzles", "8", "--num-aug", "1", "eval.batch_size=8"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "quickstart.json").read_text())
    assert summary["train_steps"] >= 1
    assert summary["stopped"] == "max_minutes"  # 3 s cannot reach the target
    assert "The cap, not the method, limited this result" in " ".join(res.output.split())
    assert set(summary["exact_accuracy_per_step"]) == {str(k) for k in range(1, 9)}
    assert 0.0 <= summary["exact_accuracy"] <= 1.0
    for picture in ("refinement.png", "refinement.gif", "training_curves.png"):
        assert (out / "pictures" / picture).stat().st_size > 0
    assert (out / "checkpoints" / "latest").exists()


GROUPS = {"data", "arc", "llm"}


def _readme_trm_commands() -> set[str]:
    """Every ``trm ...`` command line in the README's code blocks, as its (sub)command name."""
    names, in_code = set(), False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        words = line.split("#")[0].split()
        if in_code and len(words) >= 2 and words[0] == "trm" and not words[1].startswith("-"):
            names.add(" ".join(words[1:3]) if words[1] in GROUPS else words[1])
    return names


def test_every_command_the_readme_shows_exists():
    names = _readme_trm_commands()
    assert {"solve", "eval", "serve", "export", "data grids", "llm eval", "arc adapt"} <= names
    runner = CliRunner()
    for name in sorted(names):
        res = runner.invoke(app, [*name.split(), "--help"])
        assert res.exit_code == 0, (name, res.output)


def test_the_options_the_readme_gives_its_data_commands_exist():
    """Each ``--option`` of a ``trm data ...`` line in the README is one its command lists in --help
    (old option names are hidden aliases, so the README must show the current ones)."""
    lines = [line.split("#")[0].split() for line in (ROOT / "README.md").read_text().splitlines()]
    runner = CliRunner()
    checked = 0
    for words in lines:
        if words[:2] != ["trm", "data"] or len(words) < 3:
            continue
        help_text = runner.invoke(app, ["data", words[2], "--help"], terminal_width=200).output
        for option in (w for w in words[3:] if w.startswith("--")):
            assert option in help_text, (" ".join(words), option)
            checked += 1
    assert checked >= 10
