"""The cloudlease command end to end against the emulator, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cloudlease_firestore import FirestoreStore
from tests.emulators import ROOT
from tests.firestore.conftest import Emulator
from tests.helpers import run_cli

CHILD = """
import os, pathlib, sys, time
out = pathlib.Path(sys.argv[1])
out.write_text(os.environ["CLOUDLEASE_TOKEN"] + " " + os.environ["CLOUDLEASE_HOLDER"])
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.05)
"""


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


def test_run_holds_the_lease_others_exit_75_and_status_shows_the_holder(
    emulator: Emulator, collection: str, tmp_path: Path
) -> None:
    url = f"firestore://{emulator.project}/{collection}"
    env = dict(os.environ, FIRESTORE_EMULATOR_HOST=emulator.host, PYTHONPATH=str(ROOT))
    assert cli(env, "init", "--store", url).returncode == 0

    started, finish = tmp_path / "started", tmp_path / "finish"
    first = subprocess.Popen(
        [sys.executable, "-m", "cloudlease", "run", "--store", url, "--lease", "nightly",
         "--ttl", "15", "--holder", "runner-1", "--metadata", '{"job": "report"}', "--",
         sys.executable, "-c", CHILD, str(started), str(finish)],
        env=env,
    )  # fmt: skip
    try:
        give_up = time.monotonic() + 60
        while not started.exists():
            assert first.poll() is None, "the first run exited early"
            assert time.monotonic() < give_up, "the child never started"
            time.sleep(0.05)
        token, holder = started.read_text().split()

        second = cli(env, "run", "--store", url, "--lease", "nightly", "--", "true")
        assert second.returncode == 75, second.stderr
        assert "runner-1" in second.stderr and "nightly" in second.stderr

        status = cli(env, "status", "--store", url, "--json")
        assert status.returncode == 0, status.stderr
        [record] = json.loads(status.stdout)
        assert (record["name"], record["holder"], record["token"]) == (
            "nightly",
            holder,
            int(token),
        )
        assert record["metadata"] == {"job": "report"}
    finally:
        finish.touch()
        assert first.wait(60) == 0

    store = FirestoreStore(emulator.project, collection)
    after = store.get("nightly")
    assert after is not None and after.holder == "" and after.token == int(token)
    store.close()
    freed = cli(env, "release", "--store", url, "--lease", "nightly", "--force")
    assert freed.returncode == 0 and "already free" in freed.stdout
    table = cli(env, "status", "--store", url)
    assert "nightly" in table.stdout and "free" in table.stdout
