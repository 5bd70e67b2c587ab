"""Cloud Run adapters: singleton work in a job's tasks, and Cloud Scheduler ticks in services.

Jobs: ``@cloud_run.job_singleton`` runs the function in ONE task per execution; the others
skip (or wait, with ``wait=``). The execution (``CLOUD_RUN_EXECUTION``) is the tick, so a
retried task runs only if the execution's work did not complete; the task timeout
(``task_timeout=`` or ``CLOUDLEASE_TASK_TIMEOUT`` seconds, counted from the call) caps the lease.

Services: ``@cloud_run.scheduled`` takes the tick from Cloud Scheduler's request headers
(``X-CloudScheduler-ScheduleTime``, ``X-CloudScheduler-JobName``). It is framework-free: it
finds headers in a ``request``/``headers`` argument or any argument with ``.headers`` (Flask,
FastAPI, Starlette, Django), or in ``flask.request`` when Flask is in use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError
from cloudlease.runner import Call, GuardOptions, default_name, guard_function, make_guard

if TYPE_CHECKING:
    from typing_extensions import Unpack
from cloudlease.ticks import sanitize

F = TypeVar("F", bound=Callable[..., Any])
SCHEDULE_TIME = "x-cloudscheduler-scheduletime"
JOB_NAME = "x-cloudscheduler-jobname"


@dataclass(frozen=True)
class JobTask:
    """Where this process runs in a Cloud Run job (from the environment Cloud Run sets)."""

    job: str
    execution: str
    index: int
    count: int
    attempt: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobTask:
        env = os.environ if env is None else env
        missing = [k for k in ("CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION") if not env.get(k)]
        if missing:
            raise ConfigError(
                f"not running as a Cloud Run job task: {', '.join(missing)} not set; for a "
                "local run set CLOUD_RUN_JOB, CLOUD_RUN_EXECUTION and CLOUD_RUN_TASK_INDEX"
            )
        try:
            return cls(
                job=env["CLOUD_RUN_JOB"],
                execution=env["CLOUD_RUN_EXECUTION"],
                index=int(env.get("CLOUD_RUN_TASK_INDEX", "0")),
                count=int(env.get("CLOUD_RUN_TASK_COUNT", "1")),
                attempt=int(env.get("CLOUD_RUN_TASK_ATTEMPT", "0")),
            )
        except ValueError as exc:
            raise ConfigError(f"a CLOUD_RUN_TASK_* variable is not a number: {exc}") from None

    @property
    def holder(self) -> str:
        return f"{self.execution}:task-{self.index}:attempt-{self.attempt}"


def job_singleton(
    *, task_timeout: Duration | None = None, **options: Unpack[GuardOptions]
) -> Callable[[F], F]:
    """Run the function in one task per job execution; other tasks skip (or wait).

    Takes ``single_runner``'s options (``store``, ``name``, ``ttl``, ``wait``, ``skipped``,
    ``raise_on_skip``, ``remember``, ``metadata``); ``task_timeout`` (or
    ``CLOUDLEASE_TASK_TIMEOUT``) caps the lease, counted from the call.
    """
    guard = make_guard(**options)
    name = guard.name
    timeout = task_timeout
    if timeout is None and os.environ.get("CLOUDLEASE_TASK_TIMEOUT"):
        try:
            timeout = float(os.environ["CLOUDLEASE_TASK_TIMEOUT"])
        except ValueError:
            raise ConfigError(
                f"CLOUDLEASE_TASK_TIMEOUT={os.environ['CLOUDLEASE_TASK_TIMEOUT']!r} is not a "
                "number of seconds"
            ) from None
    timeout_s = None if timeout is None else to_seconds(timeout, what="task_timeout")

    def decorate(target: F) -> F:
        def call_for(args: Any, kwargs: Any) -> Call:
            task = JobTask.from_env()
            job = name or sanitize(task.job)
            return Call(
                job,
                holder=task.holder,
                max_duration=timeout_s,
                tick=sanitize(task.execution),
                metadata={"execution": task.execution, "task_index": task.index},
            )

        return guard_function(guard, target, call_for)

    return decorate


@dataclass(frozen=True)
class SchedulerTick:
    """What Cloud Scheduler says about the request: which job, which scheduled time."""

    job: str | None
    schedule_time: str


def scheduler_tick(headers: Mapping[str, str]) -> SchedulerTick | None:
    """Read Cloud Scheduler's headers (any case); None when it is not a scheduler request."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    when = lowered.get(SCHEDULE_TIME)
    if not when:
        return None
    return SchedulerTick(lowered.get(JOB_NAME) or None, when)


def find_headers(args: Any, kwargs: Any) -> Mapping[str, str] | None:
    """The request headers of a web handler's call, framework-free (None if none found)."""
    for key in ("request", "req", "headers"):
        if key in kwargs:
            value = kwargs[key]
            return value if key == "headers" else getattr(value, "headers", None)
    for value in (*args, *kwargs.values()):
        headers = getattr(value, "headers", None)
        if isinstance(headers, Mapping) or hasattr(headers, "items"):
            return headers
    flask = sys.modules.get("flask")
    if flask is not None:
        try:
            return flask.request.headers  # type: ignore[no-any-return]
        except RuntimeError:  # outside a request context
            return None
    return None


def scheduled(
    *,
    headers: Callable[[Any, Any], Mapping[str, str] | None] = find_headers,
    **options: Unpack[GuardOptions],
) -> Callable[[F], F]:
    """Run a Cloud Scheduler-triggered handler once per scheduled time.

    Takes ``single_runner``'s options. The lease name is ``name`` (default: the scheduler
    job's name, else the function's qualified name) plus the schedule time. A request without
    the scheduler's headers is refused with ConfigError before anything is acquired.
    """
    guard = make_guard(**options)
    name = guard.name

    def decorate(target: F) -> F:
        fallback = default_name(target)

        def call_for(args: Any, kwargs: Any) -> Call:
            found = headers(args, kwargs)
            tick = scheduler_tick(found) if found is not None else None
            if tick is None:
                raise ConfigError(
                    "not a Cloud Scheduler request: no X-CloudScheduler-ScheduleTime header "
                    f"(headers found: {'yes' if found is not None else 'none'}); trigger it "
                    "from Cloud Scheduler, or pass headers= to find them",
                    lease=name or fallback,
                )
            job = name or (sanitize(tick.job) if tick.job else fallback) or fallback
            return Call(job, tick=tick.schedule_time, metadata={"scheduler_job": tick.job})

        return guard_function(guard, target, call_for)

    return decorate
