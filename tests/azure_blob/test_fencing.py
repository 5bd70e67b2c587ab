"""Fenced writes: a stale holder's write is refused; contending processes never overlap."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlease.errors import LeaseLost
from cloudlease.testing.clock import FakeClock
from cloudlease_azure_blob import fenced_update, fenced_upload
from cloudlease_azure_blob.fencing import stored_token
from tests.azure_blob.azurite import Azurite
from tests.emulators import ROOT

TTL = 15


def test_stale_holder_is_refused_after_a_takeover(azurite: Azurite, container: str) -> None:
    clock = FakeClock()
    store, _ = azurite.store(container, clock=clock)
    target = store.container_client.get_blob_client("data/report.json")
    old = store.acquire("job", "a", TTL)
    fenced_upload(target, old, b"from a")
    store.write_lease_blob(old, b"checkpoint a")
    store.force_release("job")  # breaks a's blob lease
    new = store.acquire("job", "b", TTL)
    fenced_upload(target, new, b"from b")
    with pytest.raises(LeaseLost, match="newer"):
        fenced_upload(target, old, b"stale write")
    with pytest.raises(LeaseLost):
        store.write_lease_blob(old, b"stale checkpoint")
    assert target.download_blob().readall() == b"from b"
    assert stored_token(dict(target.get_blob_properties().metadata)) == new.token
    store.write_lease_blob(new, b"checkpoint b")
    assert store.read_lease_blob("job") == b"checkpoint b"
    record = store.get("job")  # writing the content kept the record
    assert record is not None and (record.holder, record.token) == ("b", new.token)


def test_fenced_update_rereads_when_the_blob_changed_in_between(
    azurite: Azurite, container: str
) -> None:
    store, _ = azurite.store(container, clock=FakeClock())
    target = store.container_client.get_blob_client("data/counter")
    lease = store.acquire("job", "a", TTL)
    calls = []

    def bump(current: bytes | None) -> bytes:
        calls.append(current)
        if len(calls) == 1:  # someone writes between our read and our write
            target.upload_blob(b"5", overwrite=True)
        return str(int(current or b"0") + 1).encode()

    fenced_update(target, lease, bump)
    assert calls == [None, b"5"]
    assert target.download_blob().readall() == b"6"


@pytest.mark.timeout(150)
def test_contending_processes_hold_one_at_a_time_with_increasing_tokens(
    azurite: Azurite, container: str, tmp_path: Path
) -> None:
    log = tmp_path / "intervals.jsonl"
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.azure_blob.contender", container, f"p{i}", "3", str(log)],
            cwd=ROOT,
            env=env,
        )
        for i in range(3)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    holdings = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(holdings) == 9
    holdings.sort(key=lambda h: h["start"])
    for earlier, later in itertools.pairwise(holdings):
        assert earlier["end"] < later["start"], (earlier, later)  # one holder at a time
        assert earlier["token"] < later["token"]
    sink = azurite.container_client(container).get_blob_client("sink/log")
    lines = [line.split() for line in sink.download_blob().readall().decode().splitlines()]
    assert len(lines) == 18
    tokens = [int(token) for token, _ in lines]
    assert tokens == sorted(tokens) and len(set(tokens)) == 9
    assert [int(token) for token, _ in lines[::2]] == [h["token"] for h in holdings]
