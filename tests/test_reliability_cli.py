"""Every command turns damaged or mismatched input into one error line and exit code 2, never a traceback.

Run through ``trm.cli.main`` (the console script) in-process, on the tiny 6x6 Sudoku checkpoint of
test_solver. Each case damages one thing in a copy and checks the message names the file and the problem;
``TRM_DEBUG=1`` and ``--debug`` give the traceback back; an error that is not the user's (a bug) keeps it.
"""

from __future__ import annotations

import shutil

import pytest

from test_solver import puzzles, run_dir  # noqa: F401 (fixtures: 6x6 Sudoku + tiny checkpoint)
from trm.cli import main
from trm.errors import MissingFileError

NINE = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"


def fails(capsys, args: list[str]) -> str:
    """Run ``trm args``; assert exit code 2, no traceback, and the error on exactly one line; return it."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    assert info.value.code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in (out + err).splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and len(err.strip().splitlines()) <= 1, (out, err)
    return lines[0]


@pytest.fixture
def copy(run_dir, tmp_path):  # noqa: F811
    """A private copy of the run (checkpoint + data) to damage."""
    return shutil.copytree(run_dir, tmp_path / "run")


def _step(run):
    return next((run / "checkpoints").glob("step_*"))


def test_puzzle_of_the_wrong_size_names_the_models_grid(capsys, run_dir):  # noqa: F811
    line = fails(capsys, ["solve", "hello", "-c", str(run_dir), "--device", "cpu"])
    assert "expected 36 cells for a 6x6 Sudoku, found 5" in line  # not "16 cells for a 4x4"
    line = fails(capsys, ["solve", NINE, "-c", str(run_dir), "--device", "cpu"])
    assert "a 9x9 Sudoku, but this model takes 6x6 Sudoku puzzles (36 cells)" in line


def test_puzzle_file_errors_name_the_file(capsys, run_dir, tmp_path):  # noqa: F811
    bad = tmp_path / "puzzle.txt"
    bad.write_text("123456\n......\n")
    assert f"{bad}:2:7: expected 36 cells" in fails(capsys, ["solve", str(bad), "-c", str(run_dir)])
    bad.write_bytes(b"\xff\xfe1234")
    assert f"{bad}: not UTF-8 text" in fails(capsys, ["solve", str(bad), "-c", str(run_dir)])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d.joinpath("inputs.npy").write_bytes(d.joinpath("inputs.npy").read_bytes()[:100]),
         r"test/inputs.npy: 100 bytes, but metadata.json records"),
        (lambda d: d.joinpath("metadata.json").write_text('{"task": "sudoku",\n  oops'),
         r"test/metadata.json:2:3: invalid JSON"),
        (lambda d: d.joinpath("labels.npy").unlink(), r"test/labels.npy: missing array file"),
    ],
)  # fmt: skip
def test_eval_on_a_damaged_dataset_names_the_file(capsys, copy, damage, message):
    damage(copy / "data" / "test")
    line = fails(capsys, ["eval", "-c", str(copy), "--data", str(copy / "data"), "--no-progress"])
    assert message in line


def test_dataset_of_another_shape_names_what_the_model_takes(capsys, copy, tmp_path):
    from trm.data.format import DatasetMetadata, write_split
    from trm.data.sudoku import generate, to_tokens

    grids = generate(4, count=3, seed=0)
    x = to_tokens([g.puzzle for g in grids]).reshape(3, 16)
    meta = DatasetMetadata(
        task="sudoku", vocab_size=6, seq_len=16, grid_shape=(4, 4), num_puzzle_identifiers=1
    )
    write_split(tmp_path / "four", "test", inputs=x, labels=x, puzzle_identifiers=[0, 0, 0],
                puzzle_indices=[0, 1, 2, 3], group_indices=[0, 1, 2, 3], metadata=meta)  # fmt: skip
    line = fails(capsys, ["eval", "-c", str(copy), "--data", str(tmp_path / "four"), "--no-progress"])
    assert "four/test/metadata.json: vocab_size=6, but this model takes sudoku data with vocab_size=8" in line


def test_damaged_checkpoint_files_are_one_line_naming_the_file(capsys, copy):
    step = _step(copy)
    weights = step / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:40])  # truncated inside the header
    for verify in ([], ["--no-verify"]):
        line = fails(capsys, ["solve", NINE[:36], "-c", str(copy), *verify])
        assert "model.safetensors" in line
    weights.write_bytes(data)
    (step / "config.yaml").write_text("model: [unclosed\n")
    assert "config.yaml" in fails(capsys, ["solve", NINE[:36], "-c", str(copy), "--no-verify"])


def test_bad_recipes_and_overrides_are_one_line(capsys, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train:\n  lr: [1,\n")
    assert f"{recipe}:3:1: invalid YAML" in fails(capsys, ["train", "--recipe", str(recipe)])
    recipe.write_bytes(b"train:\n  lr: \xff\n")
    assert f"{recipe}: not UTF-8 text" in fails(capsys, ["train", "--recipe", str(recipe)])
    line = fails(capsys, ["train", "--recipe", "quickstart", "train.not_a_key=1"])
    assert "train.not_a_key" in line
    line = fails(capsys, ["train", "--recipe", "quickstart", "train.lr=fast", "model.hidden_size=x"])
    assert "train.lr" in line and "model.hidden_size" in line  # both problems, on the one line


def test_missing_checkpoint_and_dataset_paths_are_one_line(capsys, tmp_path):
    assert str(tmp_path / "nope") in fails(capsys, ["solve", "x", "-c", str(tmp_path / "nope")])
    assert "no such dataset folder" in fails(capsys, ["data", "verify", str(tmp_path / "nope")])
    (tmp_path / "folder.yaml").mkdir()
    assert f"{tmp_path / 'folder.yaml'}: Is a directory" in fails(
        capsys, ["train", "-r", str(tmp_path / "folder.yaml")]
    )


def test_data_verify_lists_problems_then_fails_with_code_2(capsys, copy):
    with pytest.raises(SystemExit) as info:
        main(["data", "verify", str(copy / "data")])
    assert info.value.code == 0 and "ok: 2 split(s), 12 examples verified" in capsys.readouterr().out
    labels = copy / "data" / "train" / "labels.npy"
    flipped = bytearray(labels.read_bytes())
    flipped[-1] ^= 1
    labels.write_bytes(bytes(flipped))
    with pytest.raises(SystemExit) as info:
        main(["data", "verify", str(copy / "data")])
    out, err = capsys.readouterr()
    assert info.value.code == 2
    assert "checksum differs" in out and "1 problem(s), listed above" in err


def test_debug_shows_the_traceback_and_bugs_keep_theirs(capsys, tmp_path, monkeypatch):
    args = ["data", "verify", str(tmp_path / "nope")]
    with pytest.raises(MissingFileError, match="no such dataset folder"):
        main(["--debug", *args])
    monkeypatch.setenv("TRM_DEBUG", "1")
    with pytest.raises(MissingFileError, match="no such dataset folder"):
        main(args)
    monkeypatch.delenv("TRM_DEBUG")

    def broken(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr("trm.data.integrity.verify_dataset", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # not a user error: not hidden
        main(args)


def test_resume_with_a_model_that_does_not_fit_names_the_settings(capsys, tmp_path):
    from test_training_loop import _write_dataset, tiny_config
    from trm.config import save_config
    from trm.training.loop import train

    config = tiny_config(
        _write_dataset(tmp_path / "data", n_train=16, n_test=8), tmp_path / "run", max_steps=1
    )
    train(config, stop_at_step=1, progress=False)
    save_config(config, tmp_path / "recipe.yaml")
    args = ["train", "--recipe", str(tmp_path / "recipe.yaml"), "--resume", "--no-progress"]
    line = fails(capsys, [*args, "model.hidden_size=16"])
    assert (
        "the config does not fit this checkpoint" in line and "model.hidden_size=16 (checkpoint: 32)" in line
    )
