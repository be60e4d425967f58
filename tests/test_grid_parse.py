"""Reading users' grid examples: every accepted form, and every rejected one with its place named."""

from __future__ import annotations

import json

import pytest

from trm.data.errors import InputError
from trm.data.grid.parse import parse_grid, read_source


def _jsonl(tmp_path, *objs, name="ex.jsonl"):
    path = tmp_path / name
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def test_the_three_grid_forms_give_the_same_cells():
    expect = [["0", "1", "1"], ["1", "0", "0"]]
    forms = ([[0, 1, 1], [1, 0, 0]], ["011", "100"], "011\n100", "011\r\n100\n", [["0", "1", "1"], [1, 0, 0]])
    for form in forms:
        assert parse_grid(form, where="input", file="f", max_size=30) == expect
    assert parse_grid([[10, -1]], where="input", file="f", max_size=30) == [["10", "-1"]]  # multi-digit ints
    assert parse_grid(" #\n# ", where="input", file="f", max_size=30) == [[" ", "#"], ["#", " "]]  # spaces


def test_jsonl_reads_split_id_and_skips_blank_lines(tmp_path):
    path = _jsonl(
        tmp_path,
        {"input": [[1]], "output": [[2]]},
        "",
        {"input": "ab", "output": "ba", "split": "test", "id": 7},
    )
    data = read_source(path)
    assert data.format == "jsonl" and [e.line for e in data.examples] == [1, 3]
    assert [e.split for e in data.examples] == [None, "test"]
    assert [e.id for e in data.examples] == ["line1", "7"]
    assert data.examples[1].input == [["a", "b"]]


def test_csv_with_multiline_fields_names_the_record_line(tmp_path):
    path = tmp_path / "ex.csv"
    path.write_text('input,output,split\n"01\n10","10\n01",train\n"11\n11","00\n00",\n')
    data = read_source(path)
    assert [e.line for e in data.examples] == [2, 5]  # record 1 spans lines 2-4
    assert data.examples[0].input == [["0", "1"], ["1", "0"]]
    assert [e.split for e in data.examples] == ["train", None]
    bad = tmp_path / "bad.csv"
    bad.write_text('input,output\n"01\n10","10\n01"\n"011\n10",11\n')
    with pytest.raises(InputError, match=r"bad\.csv:5: input: ragged rows: row 2 has 2 cells, row 1 has 3"):
        read_source(bad)


def test_arc_folder_and_single_task_file(tmp_path):
    folder = tmp_path / "tasks"
    (folder / "sub").mkdir(parents=True)
    task = {
        "train": [{"input": [[1, 0]], "output": [[0, 1]]}],
        "test": [{"input": [[2, 0]], "output": [[0, 2]]}],
    }
    (folder / "a.json").write_text(json.dumps(task))
    (folder / "sub" / "b.json").write_text(json.dumps({"train": task["train"], "test": [{"input": [[3]]}]}))
    data = read_source(folder)
    assert data.format == "arc" and data.skipped == 1
    assert [(e.id, e.split) for e in data.examples] == [
        ("a/train/0", "train"),
        ("a/test/0", "test"),
        ("sub/b/train/0", "train"),
    ]
    one = read_source(folder / "a.json")
    assert [e.id for e in one.examples] == ["a/train/0", "a/test/0"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"input": [[1, 2], [3]], "output": [[1]]}',
            r"ex\.jsonl:2: input: ragged rows: row 2 has 1 cells, row 1 has 2",
        ),
        ('{"input": [[1]]}', r"ex\.jsonl:2: missing field 'output'"),
        (
            '{"input": [[1]], "output": [[1]], "spilt": "test"}',
            r"ex\.jsonl:2: unknown field\(s\) \['spilt'\]",
        ),
        (
            '{"input": [[1]], "output": [[1]], "split": "dev"}',
            r"ex\.jsonl:2: split must be 'train', 'test' or 'val'",
        ),
        ('{"input": [], "output": [[1]]}', r"ex\.jsonl:2: input: a grid is .* got an empty list"),
        ('{"input": [[1]], "output": ["ab", ""]}', r"ex\.jsonl:2: output: row 2 is empty"),
        ('{"input": [[true]], "output": [[1]]}', r"ex\.jsonl:2: input: row 1, cell 1 is true"),
        ('{"input": [[1.5]], "output": [[1]]}', r"ex\.jsonl:2: input: row 1, cell 1 is 1.5"),
        ('{"input": [[1]], "output": 5}', r"ex\.jsonl:2: output: a grid is .* got int"),
        ('{"input": [[1]], "output": [[1]], "id": null}', r"ex\.jsonl:2: id must be"),
        ('{"input": [[1]], "output": [[1]]', r"ex\.jsonl:2:\d+: invalid JSON"),
        ("[1, 2]", r"ex\.jsonl:2: a line must be a JSON object"),
        (
            '{"input": ["' + "0" * 31 + '"], "output": [[1]]}',
            r"ex\.jsonl:2: input: grid is 1x31, larger than the limit 30x30",
        ),
        (
            '{"input": [[1]], "output": [[2]], "id": "line1"}',
            r"ex\.jsonl:2: duplicate id 'line1' \(first at .*ex\.jsonl:1\)",
        ),
    ],
)
def test_jsonl_rejects_bad_examples_naming_file_and_line(tmp_path, line, message):
    path = _jsonl(tmp_path, {"input": [[0]], "output": [[0]]}, line)
    with pytest.raises(InputError, match=message):
        read_source(path)


def test_max_size_is_configurable(tmp_path):
    path = _jsonl(tmp_path, {"input": ["0" * 40], "output": [[1]]})
    assert read_source(path, max_size=40).examples[0].input == [["0"] * 40]
    with pytest.raises(InputError, match="larger than the limit 8x8"):
        read_source(path, max_size=8)


def test_rejected_files_and_headers(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(InputError, match="unknown source type '.txt'"):
        read_source(tmp_path / "x.txt")
    with pytest.raises(InputError, match="no examples"):
        read_source(_jsonl(tmp_path, "", name="empty.jsonl"))
    (tmp_path / "h.csv").write_text("question,answer\n01,10\n")
    with pytest.raises(
        InputError, match=r"h\.csv:1: header \['question', 'answer'\]: needs input and output"
    ):
        read_source(tmp_path / "h.csv")
    (tmp_path / "n.csv").write_text("input,output\n01,10,train\n")
    with pytest.raises(InputError, match=r"n\.csv:2: 3 fields, the header has 2"):
        read_source(tmp_path / "n.csv")
    (tmp_path / "latin.jsonl").write_bytes(b'{"input": "\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        read_source(tmp_path / "latin.jsonl")
    empty = tmp_path / "no_tasks"
    empty.mkdir()
    with pytest.raises(InputError, match="no \\*.json task files"):
        read_source(empty)
    (empty / "t.json").write_text('{"train": [{"input": [[1]]}]}')
    with pytest.raises(InputError, match=r"t\.json: train pair 1: missing field 'output'"):
        read_source(empty)
