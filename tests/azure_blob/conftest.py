"""Azurite, started once per test session on a free loopback port and killed at the end."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.emulators import ROOT, ManagedProcess, free_port, port_open, unavailable

if TYPE_CHECKING:  # the Azure SDK loads when Azurite is started, not at collection
    from tests.azure_blob.azurite import Azurite

AZURITE_BIN = ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    if not AZURITE_BIN.exists():
        unavailable("Azurite", f"{AZURITE_BIN} is missing (scripts/emulators.sh installs it)")
    if shutil.which("node") is None:
        unavailable("Azurite", "node is not on PATH")
    workdir: Path = tmp_path_factory.mktemp("azurite")
    port = free_port()
    process = ManagedProcess(
        "azurite-blob",
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ],
        log_dir=workdir,
        cwd=workdir,
    )
    try:
        process.wait_until(lambda: port_open(port), timeout=60)
    except RuntimeError as exc:
        process.stop()
        unavailable("Azurite", str(exc))
    from tests.azure_blob.azurite import Azurite

    try:
        yield Azurite(port)
    finally:
        process.stop()


@pytest.fixture
def container(azurite: Azurite) -> str:
    """A fresh, empty container for one test (Azurite has no reset endpoint)."""
    return azurite.new_container()
