"""The cloudlease command against Azurite, in subprocesses with the connection string set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.azure_blob.azurite import Azurite
from tests.helpers import only_record, run_args, run_cli


def cli(azurite: Azurite, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    return run_cli(*args, env=env)


def test_cli_end_to_end(azurite: Azurite) -> None:
    url = azurite.url("cli" + uuid.uuid4().hex[:12])  # init creates it
    for _ in range(2):  # idempotent
        created = cli(azurite, "init", "--store", url)
        assert created.returncode == 0, created.stderr
        assert "ready" in created.stdout
    script = "import os; print(os.environ['CLOUDLEASE_TOKEN'])"
    ran = cli(azurite, *run_args(url, "nightly", sys.executable, "-c", script, ttl=15, holder="h1"))
    assert ran.returncode == 0, ran.stderr
    token = int(ran.stdout)
    container = url.rsplit("/", 1)[1]
    store, _ = azurite.store(container)
    held = store.acquire("nightly", "someone-else", 15)
    assert held.token > token
    refused = cli(azurite, *run_args(url, "nightly", "true", ttl=15))
    assert refused.returncode == 75
    assert "someone-else" in refused.stderr
    record = only_record(cli(azurite, "status", "--store", url, "--json"))
    assert (record["name"], record["holder"], record["token"]) == (
        "nightly",
        "someone-else",
        held.token,
    )
    released = cli(azurite, "release", "--store", url, "--lease", "nightly", "--force")
    assert released.returncode == 0, released.stderr
    assert "someone-else" in released.stdout
    again = cli(azurite, *run_args(url, "nightly", sys.executable, "-c", script, ttl=15))
    assert again.returncode == 0, again.stderr
    assert int(again.stdout) > held.token


def test_cli_names_a_missing_container_and_the_fix(azurite: Azurite) -> None:
    url = azurite.url("missing" + uuid.uuid4().hex[:8])
    result = cli(azurite, "run", "--store", url, "--lease", "nightly", "--ttl", "15", "--", "true")
    assert result.returncode == 69
    assert "does not exist" in result.stderr and "cloudlease init" in result.stderr
