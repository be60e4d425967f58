"""The thread-count tuner: decisions from given rates (no clock, no timing), settings, the forward hook."""

from __future__ import annotations

import pytest
import torch

from trm.threads import ThreadTuner, candidates, parse_threads, thread_tuner, tuned_forward


class Machine:
    """A fake machine: examples/s per thread count, changeable; records every count the tuner sets."""

    def __init__(self, rates: dict[int, float]):
        self.rates = dict(rates)
        self.set_calls: list[int] = []

    def set_threads(self, n: int) -> None:
        self.set_calls.append(n)

    def run(self, tuner: ThreadTuner, steps: int, batch: int = 64) -> None:
        for _ in range(steps):
            tuner.observe(batch, batch / self.rates[tuner.current])


def tuner_for(machine: Machine, **kw) -> ThreadTuner:
    kw = {"probe_steps": 2, "probe_seconds": 0.5, "window_seconds": 2.0, "reprobe_seconds": 20.0, **kw}
    return ThreadTuner([1, 2], machine.set_threads, **kw)


@pytest.mark.parametrize(("rates", "best"), [({1: 285, 2: 117}, 1), ({1: 300, 2: 536}, 2)])
def test_probe_keeps_the_fastest_count(rates, best):
    m = Machine(rates)
    t = tuner_for(m)
    m.run(t, 40)
    assert t.choice == best and t.current == best
    assert m.set_calls[-1] == best
    assert set(t.rates) == {1, 2}
    assert t.rates[best] == pytest.approx(rates[best])


def test_probe_drops_a_clearly_worse_count_after_one_step():
    m = Machine({1: 300, 2: 30})  # 2 threads 10x slower: one step of it is enough
    t = tuner_for(m)
    m.run(t, 20)  # 1 thread is probed first (no choice yet)
    assert t.choice == 1
    steps_on_2 = 0
    t2 = tuner_for(m)
    while t2.choice is None:
        steps_on_2 += t2.current == 2
        t2.observe(64, 64 / m.rates[t2.current])
    assert steps_on_2 == 2  # the warm-up step on a new count, then one measured step


def test_the_first_step_on_a_new_count_is_not_measured():
    m = Machine({1: 400, 2: 540})
    t = tuner_for(m)
    firsts: set[int] = set()
    while t.choice is None:
        rate = m.rates[t.current] if t.current in firsts else 50.0  # first step: 10x slower, warming up
        firsts.add(t.current)
        t.observe(64, 64 / rate)
    assert t.choice == 2 and t.rates[2] == pytest.approx(540)


def test_a_busier_machine_starts_a_new_probe_and_switches():
    m = Machine({1: 300, 2: 540})
    t = tuner_for(m)
    m.run(t, 60)
    assert t.choice == 2
    m.rates = {1: 280, 2: 110}  # a busy process arrives: 2 threads collapse
    m.run(t, 40)
    assert t.choice == 1
    assert t.probes >= 2


def test_an_idle_machine_is_noticed_by_the_periodic_probe():
    m = Machine({1: 280, 2: 110})
    t = tuner_for(m)
    m.run(t, 30)
    assert t.choice == 1
    m.rates = {1: 300, 2: 540}  # the busy process ends; 1 thread's rate does not drop, only time tells
    m.run(t, int(25 * 300 / 64))  # ~25 s of steps: past reprobe_seconds=20
    assert t.choice == 2


def test_reprobe_interval_doubles_while_the_choice_holds_and_resets_when_it_changes():
    m = Machine({1: 300, 2: 540})
    t = tuner_for(m, reprobe_seconds=10.0, max_reprobe_seconds=40.0, probe_cost=1.0)  # no cost floor
    seen = []
    for _ in range(6):
        probes = t.probes
        while t.probes == probes:
            m.run(t, 1)
        seen.append(t.reprobe_seconds)
    assert seen[:4] == [10.0, 20.0, 40.0, 40.0]  # the first probe sets the base; each same choice doubles
    m.rates = {1: 300, 2: 100}
    probes = t.probes
    while t.probes == probes:
        m.run(t, 1)
    assert t.choice == 1 and t.reprobe_seconds == 10.0


@pytest.mark.parametrize("slow", [100.0, 30.0, 5.0])
def test_probes_cost_a_few_percent_even_when_one_step_at_the_bad_count_is_long(slow):
    m = Machine({1: 300, 2: slow})  # a step of 2 threads takes 64/slow seconds (up to ~13 s)
    t = tuner_for(m, reprobe_seconds=10.0, max_reprobe_seconds=1000.0, probe_cost=0.03)
    total = on_bad = 0.0
    while total < 3600:  # an hour of steps
        seconds = 64 / m.rates[t.current]
        on_bad += seconds if t.current == 2 else 0.0
        total += seconds
        t.observe(64, seconds)
    assert t.choice == 1
    assert on_bad / total < 0.06  # the first probes included; the steady state is ~3%


def test_steady_rates_do_not_trigger_probes_before_the_interval():
    m = Machine({1: 300, 2: 540})
    t = tuner_for(m, reprobe_seconds=100.0)
    m.run(t, 20)
    probes = t.probes
    m.run(t, int(50 * 540 / 64))  # 50 s at the chosen rate
    assert t.probes == probes
    assert t.choice == 2


def test_on_choice_reports_each_probe():
    m = Machine({1: 300, 2: 540})
    got = []
    t = tuner_for(m, on_choice=lambda c, r: got.append((c, dict(r))))
    m.run(t, 20)
    assert got and got[0][0] == 2 and set(got[0][1]) == {1, 2}
    assert "2 threads" in t.describe()


@pytest.mark.parametrize(("value", "expected"), [("auto", 0), ("AUTO", 0), (0, 0), (3, 3), ("2", 2)])
def test_parse_threads(value, expected):
    assert parse_threads(value) == expected


@pytest.mark.parametrize("value", [-1, "many", 1.5, True, None])
def test_parse_threads_rejects_bad_values_naming_the_place(value):
    with pytest.raises(ValueError, match="train.threads"):
        parse_threads(value, where="train.threads")


def test_candidates():
    assert candidates(1) == [1]
    assert candidates(2) == [1, 2]
    assert candidates(16) == [1, 8, 16]


def test_thread_tuner_fixed_setting_sets_torch_and_returns_none(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        assert thread_tuner(1) is None
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert thread_tuner("auto", "cuda", cores=4) is None
    assert thread_tuner("auto", "cpu", cores=1) is None
    t = thread_tuner("auto", "cpu", cores=2)
    torch.set_num_threads(before)
    assert t is not None and t.counts == [1, 2]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a count fixed for the process: nothing to tune
    assert thread_tuner("auto", "cpu", cores=2) is None


def test_tuned_forward_observes_each_call_and_restores_the_count(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    calls = []

    class Model(torch.nn.Module):
        def forward(self, carry, batch):
            calls.append(torch.get_num_threads())
            return carry

    before = torch.get_num_threads()
    model = Model()
    seen = []
    with tuned_forward(model, "auto") as tuner:
        if tuner is None:  # a 1-core machine: nothing to tune
            pytest.skip("one core available")
        observe = tuner.observe
        monkeypatch.setattr(tuner, "observe", lambda ex, sec: (seen.append(ex), observe(ex, sec)))
        for rows in (8, 5, 3, 2):
            model(None, {"inputs": torch.zeros(rows, 4)})
        assert set(calls) <= set(tuner.counts)
    assert seen == [8, 5, 3]  # each call reports the rows of the one before (the first starts the clock)
    assert torch.get_num_threads() == before
    assert not model._forward_pre_hooks


COMMANDS = [
    ["train", "--recipe", "quickstart"],
    ["eval", "-c", "x"],
    ["quickstart"],
    ["solve", "puzzle", "-c", "x"],
    ["serve", "-c", "x"],
    ["mcp", "-c", "x"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_threads_option_rejects_a_bad_count_naming_it(command):
    from typer.testing import CliRunner

    from trm.cli import app

    res = CliRunner().invoke(app, [*command, "--threads", "many"])
    assert res.exit_code == 2
    assert "--threads" in res.output and "'auto'" in res.output


def test_train_cli_threads_option_becomes_train_threads(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import trm.training.loop
    from trm.cli import app

    seen = {}

    def fake_train(config, resume=False, progress=True):
        seen["threads"] = config.train.threads
        raise SystemExit(0)

    monkeypatch.setattr(trm.training.loop, "train", fake_train)
    CliRunner().invoke(app, ["train", "--recipe", "quickstart", f"out_dir={tmp_path}", "--threads", "1"])
    assert seen == {"threads": 1}


ONE_AT_A_TIME = [["solve", "puzzle", "-c"], ["serve", "-c"], ["mcp", "-c"]]


@pytest.mark.parametrize("command", ONE_AT_A_TIME)
def test_solve_and_serve_set_a_fixed_count_on_torch_before_loading(monkeypatch, tmp_path, command):
    from typer.testing import CliRunner

    from trm.cli import app

    count = torch.get_num_threads() + 1  # differs from the current count, so torch is always told
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)
    missing = str(tmp_path / "no-such-run")  # the load fails after the count is set
    res = CliRunner().invoke(app, [*command, missing, "--threads", str(count)])
    assert res.exit_code != 0 and seen == [count]
    seen.clear()
    res = CliRunner().invoke(app, [*command, missing, "--threads", "auto"])  # auto: torch's own count
    assert res.exit_code != 0 and seen == []
