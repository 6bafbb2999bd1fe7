"""Progress when stderr is not a terminal: timestamped lines at a modest rate, not nothing (issue 29)."""

from __future__ import annotations

import re

import pytest

from interestgraph import progress as progress_module
from interestgraph.progress import progress, progress_mode


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress_module, "_clock", fake)
    monkeypatch.delenv("INTERESTGRAPH_PROGRESS_INTERVAL", raising=False)
    return fake


def test_the_mode_follows_the_terminal_and_the_setting(monkeypatch):
    monkeypatch.delenv("INTERESTGRAPH_PROGRESS", raising=False)
    assert progress_mode() == "lines"  # pytest's captured stderr is not a terminal
    for value, mode in (("0", "off"), ("1", "bar"), ("lines", "lines"), ("off", "off")):
        monkeypatch.setenv("INTERESTGRAPH_PROGRESS", value)
        assert progress_mode() == mode


def test_lines_every_ten_percent_after_two_seconds_with_a_last_line(monkeypatch, clock, capsys):
    monkeypatch.delenv("INTERESTGRAPH_PROGRESS", raising=False)
    with progress(total=100, desc="train", unit="epoch") as bar:
        for _ in range(100):
            clock.now += 0.5  # 50 s in all
            bar.update()
    lines = capsys.readouterr().err.splitlines()
    # the first after 2 s (at 4 steps, 4%), then 10%, 20%, ..., 90%, then "done"
    assert len(lines) == 11, lines
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert re.fullmatch(stamp + r" train: 4/100 epoch \(4%\), 00:02 elapsed, 2 epoch/s, ETA 00:48", lines[0])
    assert [re.search(r"\((\d+)%\)", line).group(1) for line in lines[1:10]] == [str(p) for p in range(10, 100, 10)]
    assert re.fullmatch(stamp + r" train done: 100/100 epoch \(100%\), 00:50 elapsed, 2 epoch/s", lines[-1])


def test_at_least_every_interval_without_a_total(monkeypatch, clock, capsys):
    monkeypatch.delenv("INTERESTGRAPH_PROGRESS", raising=False)
    monkeypatch.setenv("INTERESTGRAPH_PROGRESS_INTERVAL", "10")
    bar = progress(desc="encode", unit="text")
    for _ in range(60):
        clock.now += 1.0
        bar.update(5)
        bar.set_postfix_str("batch 64")
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 7  # at 2 s, 12, 22, 32, 42, 52 s, and the last
    assert lines[1].endswith("encode: 60 text, 00:12 elapsed, 5 text/s [batch 64]")


def test_a_quick_operation_prints_nothing_and_off_means_off(monkeypatch, clock, capsys):
    monkeypatch.delenv("INTERESTGRAPH_PROGRESS", raising=False)
    for _ in progress(range(50), desc="quick"):
        clock.now += 0.01
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("INTERESTGRAPH_PROGRESS", "0")
    for _ in progress(range(50), desc="hidden"):
        clock.now += 1
    assert capsys.readouterr().err == ""
