"""Cloud Run adapters: singleton work in a job's tasks, and Cloud Scheduler ticks in services.

Jobs: ``@cloud_run.job_singleton`` runs the function in ONE task per execution; the others
skip (or wait, with ``wait=``). The execution (``CLOUD_RUN_EXECUTION``) is the tick, so a
retried task runs only if the execution's work did not complete; the task timeout
(``task_timeout=`` or ``CLOUDLEASE_TASK_TIMEOUT`` seconds, counted from the call) caps the lease.

Services: ``@cloud_run.scheduled`` takes the tick from Cloud Scheduler's request headers
(``X-CloudScheduler-ScheduleTime``, ``X-CloudScheduler-JobName``). It is framework-free: it
finds headers in a ``request``/``headers`` argument or any argument with ``.headers`` (Flask,
FastAPI, Starlette, Django), or in ``flask.request`` when Flask is in use.

A request that does not run answers so that Cloud Scheduler, which retries every non-2xx,
retries exactly when the tick may still need to run:

- a duplicate of a tick that is done: 200, ``{"status": "skipped", "reason": "done",
  "holder": ..., "finished_at": ..., "result": ...}`` (``result`` with ``share_result=True``);
- a duplicate of a tick still running (Scheduler's retry after its own deadline): it waits up
  to ``wait`` seconds (5) for the run to end, then answers ``running_status`` (409) with
  ``Retry-After``: if the running winner then fails, Scheduler's next retry runs the tick;
- with ``overlap="skip"``, a tick whose previous run still runs: 200, reason ``"overlap"``.

The answer is built for the framework at hand (a Starlette/FastAPI ``JSONResponse``, a Flask
``(body, status, headers)`` tuple), or by ``respond(reply)`` for any other.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError
from cloudlease.runner import (
    Call,
    Guard,
    GuardOptions,
    Skip,
    default_name,
    guard_function,
    make_guard,
)

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


#: How long a duplicate of a running tick waits for it by default, in seconds.
DUPLICATE_WAIT = 5.0


@dataclass(frozen=True)
class Reply:
    """The answer to a scheduler request that did not run: HTTP ``status``, a JSON ``body``
    and ``headers``; ``skip`` says why (``reason``, the record, the shared result)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    skip: Skip | None = None


def reply_for(skip: Skip, *, now_ms: int, running_status: int = 409) -> Reply:
    """The answer for a skipped scheduler request (see the module's docstring)."""
    record = skip.record
    meta = record.metadata if record is not None else {}
    body: dict[str, Any] = {
        "status": "skipped",
        "reason": skip.reason,
        "lease": skip.lease,
        "tick": skip.tick,
        "holder": record.holder if record is not None else None,
    }
    if skip.reason == "done":
        finished = meta.get("finished_at")
        body["finished_at"] = _iso(finished) if isinstance(finished, int) else None
        if skip.shared:
            body["result"] = skip.result
        return Reply(200, body, {}, skip)
    if skip.reason == "overlap":
        body["running_tick"] = meta.get("tick")
        return Reply(200, body, {}, skip)
    # Still running: retry once the running holder's lease would have expired.
    left_ms = record.expires_at - now_ms if record is not None else 1000
    retry_after = max(1, math.ceil(left_ms / 1000))
    body.update(status="running", retry_after=retry_after)
    return Reply(running_status, body, {"Retry-After": str(retry_after)}, skip)


def _iso(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def framework_response(reply: Reply, args: Any, kwargs: Any, headers: object = None) -> Any:
    """``reply`` as the framework serving the call expects it: a Starlette (FastAPI)
    ``JSONResponse`` when the call has a Starlette request (or its headers), a Flask
    ``(body, status, headers)`` tuple inside a Flask request, else that tuple too."""
    requests = sys.modules.get("starlette.requests")
    if requests is not None and (
        type(headers).__module__.startswith("starlette")
        or any(isinstance(v, requests.HTTPConnection) for v in (*args, *kwargs.values()))
    ):
        from starlette.responses import JSONResponse

        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
    return (reply.body, reply.status, reply.headers)


def scheduled(
    *,
    headers: Callable[[Any, Any], Mapping[str, str] | None] = find_headers,
    respond: Callable[[Reply], Any] | None = None,
    running_status: int = 409,
    **options: Unpack[GuardOptions],
) -> Callable[[F], F]:
    """Run a Cloud Scheduler-triggered handler once per scheduled time.

    Takes ``single_runner``'s options (``share_result``, ``overlap`` included); ``wait``
    defaults to 5 s here: how long a duplicate of a running tick waits for it. The lease name
    is ``name`` (default: the scheduler job's name, else the function's qualified name) plus
    the schedule time. A request without the scheduler's headers is refused with ConfigError
    before anything is acquired.

    A request that does not run gets a ``Reply`` (see the module's docstring) in the form of
    the framework at hand, or ``respond(reply)``'s (e.g. Django:
    ``respond=lambda r: JsonResponse(r.body, status=r.status, headers=r.headers)``).
    ``skipped=``, when given, replaces the 2xx answers (done, overlap); a running tick is
    always answered with ``running_status`` (409; 429 and 503 also make Scheduler retry).
    """
    explicit_skipped = "skipped" in options
    options.setdefault("wait", DUPLICATE_WAIT)
    guard = make_guard(**options)
    name = guard.name
    if not (isinstance(running_status, int) and 400 <= running_status <= 599):
        raise ConfigError(
            f"running_status must be an HTTP error status (4xx or 5xx) that Cloud Scheduler "
            f"retries, got {running_status!r}: a 2xx would end the tick before it is done",
            lease=name,
        )

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
            return Call(
                job,
                tick=tick.schedule_time,
                metadata={"scheduler_job": tick.job},
                answer=lambda skip: answer(skip, guard, args, kwargs, found),
            )

        def answer(skip: Skip, guard: Guard, args: Any, kwargs: Any, found: object) -> Any:
            store = guard.resolve_store()
            reply = reply_for(skip, now_ms=store.clock.wall_ms(), running_status=running_status)
            if explicit_skipped and reply.status < 300:
                return guard.skipped
            if respond is not None:
                return respond(reply)
            return framework_response(reply, args, kwargs, found)

        return guard_function(guard, target, call_for)

    return decorate
