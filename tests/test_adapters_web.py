"""cloud_run.scheduled on real Flask and FastAPI apps (their test clients, no network): once per
schedule time, and the answers Cloud Scheduler gets for duplicates (done, running, overlap)."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import Any

import flask
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cloudlease import cloud_run, current_lease
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FakeClock, FaultyStore
from cloudlease.ticks import ResultNotShared


def scheduler_headers(when: str) -> dict[str, str]:
    return {
        "X-CloudScheduler-ScheduleTime": when,
        "X-CloudScheduler-JobName": "nightly-report",
        "User-Agent": "Google-Cloud-Scheduler",
    }


def test_flask_handler_runs_once_per_schedule_time() -> None:
    store = MemoryStore()
    app = flask.Flask(__name__)

    @app.post("/tick")
    @cloud_run.scheduled(store=store, skipped=("duplicate", 200))
    def tick() -> tuple[str, int]:
        return current_lease().name, 200

    client = app.test_client()
    first = client.post("/tick", headers=scheduler_headers("2026-01-01T00:00:00Z"))
    again = client.post("/tick", headers=scheduler_headers("2026-01-01T00:00:00Z"))
    later = client.post("/tick", headers=scheduler_headers("2026-01-01T01:00:00Z"))
    assert first.text == "nightly-report:2026-01-01T00:00:00Z"
    assert again.text == "duplicate"
    assert later.text == "nightly-report:2026-01-01T01:00:00Z"
    assert client.post("/tick").status_code == 500  # not from Cloud Scheduler: refused
    assert len(store.records()) == 2


def test_fastapi_async_handler_runs_once_per_schedule_time() -> None:
    store = MemoryStore()
    app = FastAPI()

    @app.post("/tick")
    @cloud_run.scheduled(store=store, skipped={"status": "duplicate"})
    async def tick(request: Request) -> dict[str, Any]:
        return {"status": "ran", "lease": current_lease().name}

    client = TestClient(app, raise_server_exceptions=False)
    first = client.post("/tick", headers=scheduler_headers("2026-01-01T00:00:00Z"))
    again = client.post("/tick", headers=scheduler_headers("2026-01-01T00:00:00Z"))
    assert first.json() == {"status": "ran", "lease": "nightly-report:2026-01-01T00:00:00Z"}
    assert again.json() == {"status": "duplicate"}
    assert client.post("/tick").status_code == 500


# -- duplicates answered for Cloud Scheduler ------------------------------------------------

TICK = "2026-01-01T00:00:00Z"
LEASE = f"nightly-report:{TICK}"


def flask_app(store: Any, work: Any, **options: Any) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.post("/tick")
    @cloud_run.scheduled(store=store, **options)
    def tick() -> Any:
        return work()

    return app


def fastapi_app(store: Any, work: Any, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/tick")
    @cloud_run.scheduled(store=store, **options)
    async def tick(request: Request) -> Any:
        return await work()

    return app


def in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def test_flask_duplicate_of_a_done_tick_gets_a_2xx_naming_the_winner(
    store: FaultyStore, clock: FakeClock
) -> None:
    winners: list[str] = []

    def work() -> dict[str, Any]:
        winners.append(current_lease().holder)
        return {"rows": 42}

    client = flask_app(store, work).test_client()
    first = client.post("/tick", headers=scheduler_headers(TICK))
    clock.advance(30)
    again = client.post("/tick", headers=scheduler_headers(TICK))
    assert first.status_code == 200 and first.json == {"rows": 42}
    assert again.status_code == 200
    assert again.json == {
        "status": "skipped",
        "reason": "done",
        "lease": LEASE,
        "tick": TICK,
        "holder": winners[0],
        "finished_at": "2026-01-01T00:00:00.000Z",
    }
    assert len(winners) == 1


def test_flask_duplicate_of_a_running_tick_gets_409_then_a_retry_runs_if_the_winner_fails(
    store: FaultyStore, clock: FakeClock
) -> None:
    started, go_on = threading.Event(), threading.Event()
    runs: list[int] = []

    def work() -> str:
        runs.append(1)
        if len(runs) == 1:
            started.set()
            go_on.wait(10)
            raise RuntimeError("the first run fails after Scheduler gave up on it")
        return "ran"

    app = flask_app(store, work)
    post = functools.partial(app.test_client().post, "/tick", headers=scheduler_headers(TICK))
    winner, won = in_thread(post)
    assert started.wait(10)
    store.requests.clear()
    duplicate, answered = in_thread(post)
    clock.wait_for_sleepers(2)  # the winner's renewal timer; the duplicate waiting (5 s)
    clock.advance(5)
    duplicate.join(10)
    [busy] = answered
    assert dict(store.requests) == {"acquire": 2}  # refused at once, and after its 5 s
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "55"
    assert busy.json["status"] == "running" and busy.json["retry_after"] == 55
    go_on.set()
    winner.join(10)
    assert won[0].status_code == 500  # the winner failed: its tick is not done
    retry = post()
    assert (retry.status_code, retry.text) == (200, "ran")
    assert len(runs) == 2


def test_fastapi_duplicates_wait_for_a_running_tick_and_get_its_shared_result(
    store: FaultyStore, clock: FakeClock
) -> None:
    started, go_on = threading.Event(), threading.Event()

    async def work() -> dict[str, Any]:
        started.set()
        await asyncio.to_thread(go_on.wait, 10)
        return {"rows": 42, "lease": current_lease().name}

    client = TestClient(fastapi_app(store, work, share_result=True, wait=30))
    post = functools.partial(client.post, "/tick", headers=scheduler_headers(TICK))
    winner, won = in_thread(post)
    assert started.wait(10)
    duplicate, answered = in_thread(post)
    clock.wait_for_sleepers(2)  # the winner's renewal timer; the duplicate waiting (30 s)
    go_on.set()
    winner.join(10)
    clock.advance(25)  # the duplicate's next look finds the tick done
    duplicate.join(10)
    assert won[0].json() == {"rows": 42, "lease": LEASE}
    [late] = answered
    assert late.status_code == 200
    assert late.json()["reason"] == "done"
    assert late.json()["result"] == {"rows": 42, "lease": LEASE}


def test_fastapi_duplicate_of_a_running_tick_gets_503_with_retry_after(
    store: FaultyStore,
) -> None:
    store.acquire(LEASE, "instance-b/1a2b3c", 60, {"tick": TICK})  # another instance runs it

    async def work() -> str:
        raise AssertionError("must not run")

    client = TestClient(fastapi_app(store, work, wait=0, running_status=503))
    busy = client.post("/tick", headers=scheduler_headers(TICK))
    assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
    assert busy.json()["holder"] == "instance-b/1a2b3c"


def test_a_result_too_large_fails_the_winner_after_marking_the_tick_done(
    store: FaultyStore,
) -> None:
    runs: list[int] = []

    def work() -> dict[str, Any]:
        runs.append(1)
        return {"rows": "x" * 600}

    app = flask_app(store, work, share_result=True)
    client = app.test_client()
    with pytest.raises(ResultNotShared, match="at most 512 bytes"):
        app.testing = True  # the test client re-raises the winner's error
        client.post("/tick", headers=scheduler_headers(TICK))
    app.testing = False
    again = client.post("/tick", headers=scheduler_headers(TICK))
    assert again.status_code == 200 and again.json is not None
    assert again.json["reason"] == "done" and "result" not in again.json
    assert runs == [1]


def test_overlap_skip_answers_2xx_while_the_previous_tick_runs(sqlite_path: Path) -> None:
    store = SQLiteStore(sqlite_path)
    store.acquire("nightly-report", "instance-b/1a2b3c", 60, {"tick": "2025-12-31T23:00:00Z"})
    client = flask_app(store, lambda: "ran", overlap="skip").test_client()
    skipped = client.post("/tick", headers=scheduler_headers(TICK))
    assert skipped.status_code == 200 and skipped.json is not None
    assert skipped.json["reason"] == "overlap"
    assert skipped.json["running_tick"] == "2025-12-31T23:00:00Z"
    record = store.get(LEASE)
    assert record is not None and record.holder == ""  # let go: a later delivery may run it


def test_sqlite_duplicates_get_the_shared_result(sqlite_path: Path) -> None:
    store = SQLiteStore(sqlite_path)
    client = flask_app(store, lambda: {"rows": 7}, share_result=True).test_client()
    assert client.post("/tick", headers=scheduler_headers(TICK)).json == {"rows": 7}
    again = client.post("/tick", headers=scheduler_headers(TICK))
    assert again.status_code == 200 and again.json is not None
    assert again.json["result"] == {"rows": 7}


def test_another_framework_answers_through_respond(store: FaultyStore) -> None:
    replies: list[cloud_run.Reply] = []

    def respond(reply: cloud_run.Reply) -> Any:
        replies.append(reply)
        return reply.status

    @cloud_run.scheduled(store=store, respond=respond)
    def endpoint(headers: dict[str, str]) -> Any:
        return "ran"

    assert endpoint(headers=scheduler_headers(TICK)) == "ran"
    assert endpoint(headers=scheduler_headers(TICK)) == 200
    assert replies[0].body["reason"] == "done" and replies[0].skip is not None
