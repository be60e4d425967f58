"""One training run per out_dir: a live holder refuses a second run, a killed holder's lock is taken over.

Properties: the lock names the holder (pid, host); a second acquire while it is held raises
RunLockedError and changes nothing; ``kill -9`` of the holder leaves a lock that the next run takes over,
saying whose it was; a finished run leaves no lock; ``train`` on a locked out_dir writes no checkpoint
and the command exits 2 with one line. Without ``fcntl`` the recorded pid and host decide.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from test_training_loop import _write_dataset, tiny_config
from trm.cli import main
from trm.errors import RunLockedError
from trm.training import run_lock
from trm.training.loop import train
from trm.training.run_lock import LOCK_FILE, RunLock

HOLD = """
import sys, time
from trm.training.run_lock import RunLock
lock = RunLock(sys.argv[1]).acquire()  # keep a reference: the lock lives as long as it
print("held", flush=True)
time.sleep(120)
"""


def test_a_held_lock_refuses_a_second_run_and_names_the_holder(tmp_path):
    with RunLock(tmp_path / "run") as lock:
        record = json.loads(lock.path.read_text())
        assert (record["pid"], record["host"]) == (os.getpid(), socket.gethostname())
        with pytest.raises(
            RunLockedError, match=f"in use by another training run \\(pid {os.getpid()} on host"
        ):
            RunLock(tmp_path / "run").acquire()
        assert json.loads(lock.path.read_text()) == record  # the refused run did not touch it
    assert not (tmp_path / "run").exists()  # released: file gone, and the empty out_dir it made


def test_lock_of_a_killed_run_is_taken_over_saying_so(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
            RunLock(out).acquire()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert (out / LOCK_FILE).exists()  # kill -9 left the file behind
    notices = []
    with RunLock(out, say=notices.append) as lock:
        assert lock.took_over is not None and f"pid {holder.pid}" in lock.took_over
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert len(notices) == 1 and "taking over the stale lock" in notices[0] and str(holder.pid) in notices[0]


def test_train_on_a_locked_out_dir_is_refused_before_writing(tmp_path, capsys):
    data = _write_dataset(tmp_path / "data", n_train=16, n_test=8)
    out = tmp_path / "run"
    config = tiny_config(data, out, max_steps=2)
    with RunLock(out):
        with pytest.raises(RunLockedError):
            train(config, progress=False)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # no config, no checkpoint
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(json.dumps(config.model_dump(mode="json")))  # JSON is YAML
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--recipe", str(recipe), "--no-progress"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "in use by another training run" in err[0]
    result = train(config, progress=False)  # free again: trains, and leaves no lock behind
    assert result.step == 2 and not (out / LOCK_FILE).exists()


def test_without_fcntl_the_recorded_pid_and_host_decide(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "fcntl", None)
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    cases = [
        ({"pid": os.getppid(), "host": socket.gethostname()}, "in use by pid"),  # alive, here
        ({"pid": 1234, "host": "elsewhere"}, "delete"),  # cannot be checked: refuse, say how to clear it
        ({"pid": int(dead.stdout), "host": socket.gethostname()}, None),  # dead: taken over
    ]
    for record, refusal in cases:
        (out / LOCK_FILE).write_text(json.dumps(record))
        if refusal:
            with pytest.raises(RunLockedError, match=refusal):
                RunLock(out).acquire()
        else:
            with RunLock(out, say=lambda _: None) as lock:
                assert lock.took_over.startswith(f"pid {record['pid']} on host")
    (out / LOCK_FILE).write_text(json.dumps(cases[2][0]))  # a dead pid, but one we cannot probe (Windows)
    monkeypatch.setattr(run_lock, "_pid_alive", lambda pid: None)
    with pytest.raises(RunLockedError, match="if that run is gone, delete"):
        RunLock(out).acquire()
