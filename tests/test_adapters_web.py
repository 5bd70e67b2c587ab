"""cloud_run.scheduled on real Flask and FastAPI apps (their test clients, no network)."""

from __future__ import annotations

from typing import Any

import flask
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cloudlease import cloud_run, current_lease
from cloudlease.stores.memory import MemoryStore


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
