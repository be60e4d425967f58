"""``trm data example`` and ``trm data grids``: what they print and write; bad input is one line."""

from __future__ import annotations

import json

import pytest

from trm.cli import main
from trm.data.format import open_split


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_example_then_grids_prints_the_vocabulary_and_builds(capsys, tmp_path):
    src = tmp_path / "g.jsonl"
    code, out, _ = _run(capsys, ["data", "example", "gravity", str(src), "--num", "30", "--size", "4"])
    assert code == 0 and "--augment symbols --fixed-symbols 0" in out
    assert len(src.read_text().splitlines()) == 30
    args = ["data", "grids", str(tmp_path / "ds"), "--file", str(src), "--augment", "symbols"]
    code, out, _ = _run(
        capsys, [*args, "--fixed-symbols", "0", "--num-aug", "2", "--show", "1", "--seed", "3"]
    )
    assert code == 0
    assert "vocabulary (symbol -> token): '0'->2, '1'->3, '2'->4, '3'->5" in out
    assert "copying the input is exactly right on 0.0%" in out
    assert "gravity-" in out and " input:" in out  # --show 1
    meta = open_split(tmp_path / "ds", "train").metadata
    assert meta.build["vocabulary"]["symbols"] == ["0", "1", "2", "3"] and meta.build["seed"] == 3


def test_bad_input_is_one_line_naming_file_and_line(capsys, tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text(
        json.dumps({"input": "ab", "output": "ba"}) + "\n" + json.dumps({"input": ["ab", "a"]}) + "\n"
    )
    code, _, err = _run(capsys, ["data", "grids", str(tmp_path / "ds"), "--file", str(src)])
    assert code == 2 and err.count("\n") == 1
    assert f"{src}:2: missing field 'output'" in err
    assert not (tmp_path / "ds").exists()
    code, _, err = _run(
        capsys,
        ["data", "grids", str(tmp_path / "ds"), "--source", str(src), "--augment", "spin"],  # old name
    )
    assert code == 2 and "unknown augmentation" in err
    code, _, err = _run(capsys, ["data", "example", "sudoku", str(tmp_path / "x.jsonl")])
    assert code == 2 and "unknown example task 'sudoku'" in err


@pytest.mark.parametrize("command", [["data", "grids"], ["data", "example"]])
def test_commands_have_help(capsys, command):
    code, out, _ = _run(capsys, [*command, "--help"])
    assert code == 0 and "Usage" in out
