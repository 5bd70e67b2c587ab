"""examples/async_service on moto: two FastAPI instances, one leader (the async elector on the
async DynamoDB store), and a handover when the leader shuts down."""

from __future__ import annotations

import importlib.util
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudlease import open_store
from tests.dynamodb.conftest import REGION
from tests.emulators import ROOT
from tests.helpers import eventually


def example() -> ModuleType:
    path = ROOT / "examples" / "async_service" / "main.py"
    spec = importlib.util.spec_from_file_location("async_service_main", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_instance_leads_and_another_takes_over_when_it_shuts_down(
    moto_endpoint: str, http_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"dynamodb://{http_table}?region={REGION}&endpoint_url={moto_endpoint}"
    monkeypatch.setenv("CLOUDLEASE_STORE", url)
    main = example()
    a = TestClient(main.build("instance-a", ttl=3, retry_period=0.2))
    b = TestClient(main.build("instance-b", ttl=3, retry_period=0.2))

    def status(client: TestClient) -> dict[str, Any]:
        answer: dict[str, Any] = client.get("/leader").json()
        return answer

    running_a = ExitStack()
    running_a.enter_context(a)
    eventually(lambda: status(a)["is_leader"] is True, 10, what="a leads")
    with b:
        eventually(lambda: status(b)["leader"] == "instance-a", 10, what="b sees a")
        assert status(b)["is_leader"] is False and status(b)["runs"] == 0
        eventually(lambda: status(a)["runs"] >= 2, 10, what="a works")
        first = open_store(url).get("scheduler")
        running_a.close()  # shutdown: a resigns, its lease is released now
        eventually(lambda: status(b)["is_leader"] is True, 10, what="b takes over")
        eventually(lambda: status(b)["runs"] >= 1, 10, what="b works")
    record = open_store(url).get("scheduler")
    assert first is not None and record is not None
    assert record.holder == ""  # b resigned on its shutdown too
    assert record.token > first.token
