"""examples/azure_service end to end against Azurite: three replicas, one leader at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from tests.azure_blob.azurite import Azurite
from tests.emulators import ROOT

SERVICE = ROOT / "examples" / "azure_service" / "service.py"


class Replica:
    """One service process and the JSON events it printed."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE)],
            env=dict(env, REPLICA=name),
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def kinds(self) -> list[str]:
        return [event["event"] for event in self.events]


def wait_for(test: Any, timeout: float = 60) -> None:
    give_up = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.05)


def test_replicas_elect_one_leader_and_fail_over_on_sigterm(azurite: Azurite) -> None:
    container = azurite.new_container()
    env = dict(
        os.environ,
        AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
        CLOUDLEASE_STORE=azurite.url(container),
        PYTHONPATH=str(ROOT),
    )
    replicas = [Replica(name, env) for name in ("a", "b", "c")]
    try:
        wait_for(lambda: sum("elected" in r.kinds() for r in replicas) == 1)
        first = next(r for r in replicas if "elected" in r.kinds())
        wait_for(lambda: first.kinds().count("work") >= 2)
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(30) == 0
        wait_for(lambda: sum("elected" in r.kinds() for r in replicas if r is not first) == 1)
        second = next(r for r in replicas if r is not first and "elected" in r.kinds())
        wait_for(lambda: second.kinds().count("work") >= 1)
    finally:
        for replica in replicas:
            replica.process.terminate()
        for replica in replicas:
            replica.process.wait(30)

    store, _ = azurite.store(container)
    state = store.container_client.get_blob_client("housekeeping/state.log")
    lines = state.download_blob().readall().decode().splitlines()
    tokens = [int(line.split()[1]) for line in lines]
    assert tokens == sorted(tokens)
    assert [line.split()[0] for line in lines][:1] == [first.name]
    assert second.name in {line.split()[0] for line in lines}
    assert all("refused" not in r.kinds() for r in replicas)
