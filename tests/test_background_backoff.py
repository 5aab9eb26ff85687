"""Background passes that keep failing back off: the timer pass, one kind of its work (queued
messages) while the timers go on, and the job sweep are tried again after delays that double
up to a cap, on a fake monotonic clock; the failure is logged once when it starts and once
when the work runs again, not once per pass."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import crm.jobs
import engine.messages
import engine.timers
from dialflow.background import JobSweeper, TimerLoop


class _Lost(Exception):
    sqlstate = "57P01"  # terminating connection due to administrator command


def _database_gone(*_args: Any, **_kwargs: Any) -> Any:
    raise OperationalError("SELECT", {}, _Lost("the server went away"), connection_invalidated=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def test_a_failing_timer_pass_backs_off_and_says_so_once_each_way(runtime, monkeypatch, caplog):
    clock = FakeClock()
    loop = TimerLoop(runtime, interval=0.5, monotonic=clock)
    caplog.set_level(logging.DEBUG, logger="dialflow")
    monkeypatch.setattr(engine.timers, "claim_due", _database_gone)
    waits = []
    for _ in range(8):
        waits.append(loop.next_pass())
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]  # doubling from 1 s, at most every 30 s
    failing = _lines(caplog)
    assert len(failing) == 1, failing
    assert "timer pass failed; trying again in 1 s" in failing[0]
    assert "the connection was lost" in failing[0]

    caplog.clear()
    monkeypatch.undo()
    assert loop.next_pass() == 0.5  # back to the interval
    assert _lines(caplog) == ["timer pass works again after 8 failed attempts over 121 s"]
    caplog.clear()
    assert loop.next_pass() == 0.5
    assert _lines(caplog) == []


def test_failing_queued_messages_back_off_while_the_timers_go_on(runtime, monkeypatch, caplog):
    clock = FakeClock()
    loop = TimerLoop(runtime, interval=0.5, monotonic=clock)
    caplog.set_level(logging.INFO, logger="dialflow")
    attempts: list[float] = []
    passes: list[float] = []

    def deliver(*_args: Any) -> int:
        attempts.append(clock.now - 1000)
        raise RuntimeError("a queued message's process cannot be loaded")

    claim_due = engine.timers.claim_due

    def claimed(*args: Any, **kwargs: Any) -> list[int]:
        passes.append(clock.now - 1000)
        return claim_due(*args, **kwargs)

    monkeypatch.setattr(engine.timers, "pending_work", lambda *_a: (0, 1, 0))
    monkeypatch.setattr(engine.messages, "deliver_queued", deliver)
    monkeypatch.setattr(engine.timers, "claim_due", claimed)
    for _ in range(31):  # 15 s of passes every half second
        assert loop.next_pass() == 0.5
        clock.now += 0.5
    assert len(passes) == 31  # the timers' part of every pass ran
    assert attempts == [0, 1, 3, 7, 15]  # tried again after 1, 2, 4, 8 s
    failing = _lines(caplog)
    assert len(failing) == 1, failing
    assert failing[0].startswith("queued messages failed; trying again in 1 s")
    assert "Traceback" not in failing[0]  # the traceback rides on the record, once

    caplog.clear()
    monkeypatch.setattr(engine.messages, "deliver_queued", lambda *_a: 2)
    clock.now = 1000 + 31  # the next attempt is due (15 + 16)
    assert loop.next_pass() == 0  # two messages delivered: busy, no wait
    assert _lines(caplog) == ["queued messages works again after 5 failed attempts over 31 s"]


def test_a_failing_job_sweep_backs_off_to_five_minutes(runtime, monkeypatch, caplog):
    sweeper = JobSweeper(runtime, interval=30.0, dispatch=lambda _id: None)
    caplog.set_level(logging.INFO, logger="dialflow")
    monkeypatch.setattr(crm.jobs, "stale_jobs", _database_gone)
    assert [sweeper.next_pass() for _ in range(6)] == [30, 60, 120, 240, 300, 300]
    assert len(_lines(caplog)) == 1
    monkeypatch.undo()
    assert sweeper.next_pass() == 30
    assert len(_lines(caplog)) == 2 and "job sweep works again after 6" in _lines(caplog)[1]


def test_queued_messages_failing_for_a_day_never_hold_up_the_timers(runtime, monkeypatch, caplog):
    """A queued message that fails every attempt (a poison record) keeps its 30 s delay past
    the 1,024th attempt (8.5 hours), where the doubling overflowed a float: the error aborted
    every pass before its due timers were claimed."""
    clock = FakeClock()
    loop = TimerLoop(runtime, interval=0.5, monotonic=clock)
    caplog.set_level(logging.INFO, logger="dialflow")
    attempts: list[float] = []
    claims: list[float] = []

    def deliver(*_args: Any) -> int:
        attempts.append(clock.now)
        raise RuntimeError("a queued message's process cannot be loaded")

    def claimed(*_args: Any, **_kwargs: Any) -> list[int]:
        claims.append(clock.now)
        return []

    monkeypatch.setattr(engine.timers, "pending_work", lambda *_a: (0, 1, 0))
    monkeypatch.setattr(engine.messages, "deliver_queued", deliver)
    monkeypatch.setattr(engine.timers, "claim_due", claimed)
    passes = 1100
    for _ in range(passes):  # each pass 30 s after the last: every one tries the messages
        assert loop.next_pass() == 0.5
        clock.now += 30
    assert len(attempts) == passes  # each 30 s delay over when the next pass comes
    assert len(claims) == passes  # the timers' part of every pass ran
    assert len(_lines(caplog)) == 1, _lines(caplog)[:3]


def test_a_job_sweep_failing_for_days_stays_at_five_minutes(runtime, monkeypatch, caplog):
    sweeper = JobSweeper(runtime, interval=30.0, dispatch=lambda _id: None)
    caplog.set_level(logging.INFO, logger="dialflow")
    monkeypatch.setattr(crm.jobs, "stale_jobs", _database_gone)
    waits = {sweeper.next_pass() for _ in range(1100)}  # some 3.8 days of sweeps
    assert max(waits) == 300
    assert len(_lines(caplog)) == 1
