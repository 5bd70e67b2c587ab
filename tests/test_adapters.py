"""The Lambda and Cloud Run adapters, on memory and SQLite stores (emulators: examples)."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cloudlease import ConfigError, LeaseLost, aws_lambda, cloud_run, current_lease
from cloudlease.testing import FakeClock, FaultyStore

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class FakeContext:
    """What the Lambda runtime passes as ``context`` (the fields the adapter reads)."""

    clock: FakeClock
    aws_request_id: str = "req-1"
    function_name: str = "nightly"
    deadline_ms: int = field(default=0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - self.clock.wall_ms())


def scheduled_event(time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": time,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
        "detail": {},
    }


def context(clock: FakeClock, seconds: float, request_id: str = "req-1") -> FakeContext:
    return FakeContext(clock, request_id, deadline_ms=clock.wall_ms() + round(seconds * 1000))


# -- AWS Lambda -----------------------------------------------------------------------------


def test_lambda_handler_runs_once_per_scheduled_tick(store: FaultyStore, clock: FakeClock) -> None:
    runs: list[str] = []

    @aws_lambda.single_runner(store=store, name="nightly", skipped={"skipped": True})
    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        runs.append(current_lease().holder.rpartition("/")[0])  # the holder id, per-call suffix off
        return {"ok": True}

    assert handler(scheduled_event(), context(clock, 60, "req-1")) == {"ok": True}
    assert handler(scheduled_event(), context(clock, 60, "req-2")) == {"skipped": True}
    assert runs == ["req-1"]
    record = store.get("nightly:2026-01-01T00:00:00Z")
    assert record is not None and record.metadata["request_id"] == "req-1"


def test_lambda_lease_never_outlives_the_invocation(store: FaultyStore, clock: FakeClock) -> None:
    start_ms = clock.wall_ms()
    seen: list[int] = []

    @aws_lambda.single_runner(store=store, name="sweep", once_per_tick=False, margin=2)
    def hung(event: dict[str, Any], ctx: Any) -> None:
        lease = current_lease()
        seen.append(lease.lease.expires_at)
        while not lease.lost.wait(0.001):  # the handler hangs past its remaining time
            try:
                clock.wait_for_sleepers(1, timeout=0.1)
            except TimeoutError:
                continue
            clock.advance(clock.next_deadline() or 0.0)
            seen.append(lease.lease.expires_at)
        assert "hard deadline" in (lease.reason or "")

    with pytest.raises(LeaseLost):
        hung({}, context(clock, 10))
    assert max(seen) <= start_ms + 8_000  # remaining 10 s minus the 2 s margin
    assert clock.wall_ms() <= start_ms + 8_000

    # the next invocation gets the lease without waiting a full 900 s ttl beyond it
    clock.advance(0.5)
    ran: list[bool] = []

    @aws_lambda.single_runner(store=store, name="sweep", once_per_tick=False, margin=2)
    def next_one(event: dict[str, Any], ctx: Any) -> None:
        ran.append(True)

    next_one({}, context(clock, 10, "req-2"))
    assert ran == [True]


def test_lambda_stacks_with_other_handler_decorators(store: FaultyStore, clock: FakeClock) -> None:
    def inject_logger(handler: Callable[..., Any]) -> Callable[..., Any]:  # Powertools-like
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], ctx: Any) -> Any:
            return handler({**event, "logged": True}, ctx)

        return wrapper

    @inject_logger
    @aws_lambda.single_runner(store=store, name="nightly")
    def handler(event: dict[str, Any], ctx: Any) -> bool:
        return bool(event["logged"])

    assert handler(scheduled_event(), context(clock, 60)) is True
    assert handler.__name__ == "handler"


def test_cloudlease_disabled_runs_unguarded_with_a_warning(
    store: FaultyStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CLOUDLEASE_DISABLED", "1")

    @aws_lambda.single_runner(store=store, name="nightly")
    def handler(event: dict[str, Any], ctx: Any) -> str:
        return "ran"

    with caplog.at_level(logging.WARNING, logger="cloudlease"):
        assert handler({}, None) == "ran"
    assert "WITHOUT a lease" in caplog.text
    assert sum(store.requests.values()) == 0


@pytest.mark.parametrize(
    ("event", "ctx", "message"),
    [
        (scheduled_event(), None, "expected a Lambda context"),
        (scheduled_event(), object(), "expected a Lambda context"),
        ({"no": "time"}, "ok", "once-per-tick needs the scheduled time"),
        (scheduled_event(), "late", "not more than the margin"),
    ],
)
def test_lambda_bad_input_is_refused_before_any_request(
    store: FaultyStore, clock: FakeClock, event: Any, ctx: Any, message: str
) -> None:
    if ctx == "ok":
        ctx = context(clock, 60)
    elif ctx == "late":
        ctx = context(clock, 4)  # below the 5 s default margin

    @aws_lambda.single_runner(store=store, name="nightly")
    def handler(event: dict[str, Any], context: Any) -> None:
        pytest.fail("must not run")

    with pytest.raises(ConfigError, match=message):
        handler(event, ctx)
    assert sum(store.requests.values()) == 0


def test_lambda_refuses_an_async_handler_at_decoration(store: FaultyStore) -> None:
    with pytest.raises(ConfigError, match="async"):

        @aws_lambda.single_runner(store=store)
        async def handler(event: Any, context: Any) -> None:
            pass


# -- Cloud Run ------------------------------------------------------------------------------


def job_env(monkeypatch: pytest.MonkeyPatch, index: int, execution: str = "report-x7k2") -> None:
    monkeypatch.setenv("CLOUD_RUN_JOB", "report")
    monkeypatch.setenv("CLOUD_RUN_EXECUTION", execution)
    monkeypatch.setenv("CLOUD_RUN_TASK_INDEX", str(index))
    monkeypatch.setenv("CLOUD_RUN_TASK_COUNT", "3")
    monkeypatch.setenv("CLOUD_RUN_TASK_ATTEMPT", "0")


def test_one_task_per_execution_does_the_singleton_work(
    store: FaultyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []

    @cloud_run.job_singleton(store=store, skipped="skip")
    def main() -> str:
        runs.append(current_lease().holder.rpartition("/")[0])
        return "ran"

    outcomes = []
    for index in range(3):
        job_env(monkeypatch, index)
        outcomes.append(main())
    job_env(monkeypatch, 0)  # task 0 again, same attempt number: the execution's step is done
    outcomes.append(main())
    job_env(monkeypatch, 0, execution="report-next")
    outcomes.append(main())
    assert outcomes == ["ran", "skip", "skip", "skip", "ran"]
    assert runs == ["report-x7k2:task-0:attempt-0", "report-next:task-0:attempt-0"]
    assert store.get("report:report-x7k2") is not None


def test_job_tasks_in_separate_processes_run_the_work_exactly_once(tmp_path: Path) -> None:
    script = (
        "import sys; from cloudlease import cloud_run\n"
        "@cloud_run.job_singleton(store=sys.argv[1], skipped='skip')\n"
        "def main():\n"
        "    open(sys.argv[2], 'a').write('ran\\n'); return 'ran'\n"
        "print(main())\n"
    )
    url, marks = f"sqlite:///{tmp_path / 'leases.db'}", tmp_path / "runs.txt"
    env = dict(
        os.environ,
        CLOUD_RUN_JOB="report",
        CLOUD_RUN_EXECUTION="report-abc",
        CLOUD_RUN_TASK_COUNT="8",
    )
    tasks = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(marks)],
            cwd=ROOT,
            env=dict(env, CLOUD_RUN_TASK_INDEX=str(i)),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    outputs = [task.communicate(timeout=60)[0].strip() for task in tasks]
    assert sorted(outputs) == ["ran"] + ["skip"] * 7
    assert marks.read_text() == "ran\n"


def test_job_outside_cloud_run_is_a_clear_error(
    store: FaultyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUD_RUN_EXECUTION", raising=False)

    @cloud_run.job_singleton(store=store)
    def main() -> None:
        pytest.fail("must not run")

    with pytest.raises(ConfigError, match="CLOUD_RUN_EXECUTION"):
        main()
    assert sum(store.requests.values()) == 0


def test_task_timeout_caps_the_lease(store: FaultyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    job_env(monkeypatch, 0)
    start_ms = store.clock.wall_ms()

    @cloud_run.job_singleton(store=store, ttl=600, task_timeout=30)
    def main() -> int:
        return current_lease().lease.expires_at

    assert main() == start_ms + 30_000


@dataclass
class Request:
    """A web framework's request, as far as the helper cares: it has headers."""

    headers: dict[str, str]


def scheduler_headers(when: str = "2026-01-01T00:00:00Z") -> dict[str, str]:
    return {
        "X-CloudScheduler-ScheduleTime": when,
        "X-CloudScheduler-JobName": "nightly-report",
        "User-Agent": "Google-Cloud-Scheduler",
    }


def test_scheduler_requests_run_once_per_schedule_time(store: FaultyStore) -> None:
    runs: list[str] = []

    @cloud_run.scheduled(store=store, skipped=("duplicate", 200))
    def endpoint(request: Request) -> tuple[str, int]:
        runs.append(current_lease().name)
        return "done", 200

    assert endpoint(Request(scheduler_headers())) == ("done", 200)
    assert endpoint(request=Request(scheduler_headers())) == ("duplicate", 200)
    assert endpoint(Request(scheduler_headers("2026-01-01T01:00:00Z"))) == ("done", 200)
    assert runs == ["nightly-report:2026-01-01T00:00:00Z", "nightly-report:2026-01-01T01:00:00Z"]


def test_scheduler_helper_works_on_async_handlers(store: FaultyStore) -> None:
    import asyncio

    @cloud_run.scheduled(store=store, name="hourly")
    async def endpoint(request: Request) -> str:
        return current_lease().name

    assert asyncio.run(endpoint(Request(scheduler_headers()))) == "hourly:2026-01-01T00:00:00Z"


def test_scheduler_headers_are_read_case_insensitively() -> None:
    tick = cloud_run.scheduler_tick(
        {"x-cloudscheduler-scheduletime": "T", "x-cloudscheduler-jobname": "j"}
    )
    assert tick == cloud_run.SchedulerTick("j", "T")
    assert cloud_run.scheduler_tick({"User-Agent": "curl"}) is None


def test_a_request_without_scheduler_headers_is_refused(store: FaultyStore) -> None:
    @cloud_run.scheduled(store=store)
    def endpoint(request: Request) -> None:
        pytest.fail("must not run")

    with pytest.raises(ConfigError, match="not a Cloud Scheduler request"):
        endpoint(Request({"User-Agent": "curl"}))
    assert sum(store.requests.values()) == 0


def test_status_shows_the_last_successful_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.db'}"

    @aws_lambda.single_runner(store=url, name="nightly")
    def handler(event: dict[str, Any], ctx: Any) -> None:
        pass

    clock = FakeClock()
    handler(scheduled_event(), FakeContext(clock, deadline_ms=2**62))
    out = subprocess.run(
        [sys.executable, "-m", "cloudlease", "status", "--store", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "LAST SUCCESSFUL RUN" in out
    assert "nightly: tick 2026-01-01T00:00:00Z" in out
    row = next(line for line in out.splitlines() if line.startswith("nightly:2026"))
    assert "done (kept" in row  # a completed tick reads as done, not as held
    rows = json.loads(
        subprocess.run(
            [sys.executable, "-m", "cloudlease", "status", "--store", url, "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    assert rows[0]["metadata"]["done"] is True
