"""One scenario for every store: Cloud Scheduler duplicates answered, with the winner's result
(see ``*/test_shared_result.py``; the memory/SQLite cases are in test_adapters_web.py)."""

from __future__ import annotations

import uuid
from typing import Any

import flask
import pytest

from cloudlease import cloud_run, hold, single_runner
from cloudlease.store import LeaseStore
from cloudlease.ticks import ResultNotShared


def headers(when: str) -> dict[str, str]:
    return {"X-CloudScheduler-ScheduleTime": when, "X-CloudScheduler-JobName": "report"}


def service(store: LeaseStore, job: str, result: Any) -> flask.Flask:
    """One instance of a Cloud Run service: Flask, ``scheduled`` on ``store``."""
    app = flask.Flask(f"instance-{id(store)}")

    @app.post("/tick")
    @cloud_run.scheduled(store=store, name=job, share_result=True, wait=0)
    def tick() -> Any:
        return result

    return app


def duplicates_get_the_winners_result(first: LeaseStore, second: LeaseStore) -> None:
    """Two instances on one store: the first delivery of a tick runs and shares its result; a
    duplicate on the other instance gets 200 with it; a duplicate of a tick running elsewhere
    gets 409 with Retry-After; a result too large fails its winner once the tick is done."""
    job = f"report-{uuid.uuid4().hex[:8]}"
    a = service(first, job, {"rows": 42, "file": "gs://reports/0400.csv"}).test_client()
    b = service(second, job, {"rows": -1}).test_client()

    ran = a.post("/tick", headers=headers("2026-11-29T04:00:00Z"))
    duplicate = b.post("/tick", headers=headers("2026-11-29T04:00:00Z"))
    assert ran.status_code == 200 and ran.json == {"rows": 42, "file": "gs://reports/0400.csv"}
    assert duplicate.status_code == 200 and duplicate.json is not None
    assert duplicate.json["reason"] == "done"
    assert duplicate.json["result"] == ran.json
    assert duplicate.json["finished_at"].startswith("20")

    with hold(first, f"{job}:2026-11-30T04:00:00Z", ttl=30, holder="instance-c/9f8e7d"):
        busy = b.post("/tick", headers=headers("2026-11-30T04:00:00Z"))
    assert busy.status_code == 409 and 1 <= int(busy.headers["Retry-After"]) <= 30
    assert busy.json is not None and busy.json["holder"] == "instance-c/9f8e7d"

    big = service(first, job, {"rows": "x" * 600})
    big.testing = True  # the test client re-raises the winner's error
    with pytest.raises(ResultNotShared, match="at most 512 bytes"):
        big.test_client().post("/tick", headers=headers("2026-12-01T04:00:00Z"))
    after = b.post("/tick", headers=headers("2026-12-01T04:00:00Z"))
    assert after.status_code == 200 and after.json is not None
    assert after.json["reason"] == "done" and "result" not in after.json

    def lambda_on(store: LeaseStore, value: str) -> Any:
        @single_runner(store=store, name=job, tick=lambda event: event["time"], share_result=True)
        def handler(event: dict[str, str]) -> dict[str, str]:
            return {"ran_on": value}

        return handler

    event = {"time": "2026-12-02T04:00:00Z"}
    assert lambda_on(first, "a")(event) == {"ran_on": "a"}
    assert lambda_on(second, "b")(event) == {"ran_on": "a"}  # the winner's, not a skip
