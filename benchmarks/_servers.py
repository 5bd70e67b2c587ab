"""The emulators a benchmark run talks to, on free loopback ports, killed at the end.

The start-up code is the tests' (``tests/emulators.py`` and the provider conftests), so the
benchmarks run the same servers the test suite does. A server that cannot start is reported
(its section says why) instead of failing the whole run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._common import log
from tests.emulators import ROOT, ManagedProcess, free_port, port_open

AZURITE_BIN = ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
FIRESTORE_EMULATOR = Path(
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
)
FIRESTORE_PROJECT = "demo-bench"
#: Fake AWS credentials and no config files: nothing can reach real AWS.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Servers:
    """Endpoints of the running emulators (None when one could not start, with the reason)."""

    workdir: Path
    moto: str | None = None  # http://127.0.0.1:PORT (moto behind one lock: atomic)
    firestore: str | None = None  # 127.0.0.1:PORT
    azurite: int | None = None  # port
    gcs: str | None = None  # http://127.0.0.1:PORT (fake-gcs-server)
    missing: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)

    def _start(self, name: str, command: list[str], port: int, **options: object) -> bool:
        try:
            process = ManagedProcess(name, command, log_dir=self.workdir, **options)  # type: ignore[arg-type]
        except OSError as exc:
            self.missing[name] = str(exc)
            return False
        self.processes.append(process)
        try:
            process.wait_until(lambda: port_open(port), timeout=90)
        except RuntimeError as exc:
            self.missing[name] = str(exc)
            return False
        return True

    def start_moto(self) -> None:
        port = free_port()
        command = [sys.executable, "-m", "tests.dynamodb.moto_server", str(port), "--locked"]
        env = dict(os.environ, **AWS_ENV)
        if self._start("moto", command, port, cwd=ROOT, env=env):
            self.moto = f"http://127.0.0.1:{port}"

    def start_firestore(self) -> None:
        script = FIRESTORE_EMULATOR if FIRESTORE_EMULATOR.exists() else None
        if script is None or shutil.which("java") is None:
            self.missing["firestore"] = "cloud_firestore_emulator (with java) is not installed"
            return
        port = free_port()
        command = [str(script), "start", "--host=127.0.0.1", f"--port={port}"]
        if self._start("firestore", command, port):
            self.firestore = f"127.0.0.1:{port}"
            os.environ["FIRESTORE_EMULATOR_HOST"] = self.firestore

    def start_azurite(self) -> None:
        if not AZURITE_BIN.exists() or shutil.which("node") is None:
            self.missing["azurite"] = f"{AZURITE_BIN} (or node) is missing: scripts/emulators.sh"
            return
        port = free_port()
        command = [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ]
        if self._start("azurite", command, port, cwd=self.workdir):
            self.azurite = port

    def start_fake_gcs(self) -> None:
        import pytest

        from tests.gcs.conftest import fake_gcs_binary

        try:
            binary = fake_gcs_binary()
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:  # no wrapper package
            self.missing["fake-gcs-server"] = str(exc)
            return
        port = free_port()
        command = [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
        if self._start("fake-gcs-server", [*command, "-backend", "memory"], port):
            self.gcs = f"http://127.0.0.1:{port}"
            os.environ["STORAGE_EMULATOR_HOST"] = self.gcs

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@contextlib.contextmanager
def servers(kinds: set[str]) -> Iterator[Servers]:
    """Start the emulators ``kinds`` needs ("dynamodb" or "s3": moto; "firestore", "azure",
    "gcs") and stop them."""
    os.environ.update(AWS_ENV)
    os.environ.pop("AWS_PROFILE", None)
    with tempfile.TemporaryDirectory(prefix="cloudlease-bench-") as tmp:
        running = Servers(Path(tmp))
        try:
            if kinds & {"dynamodb", "s3"}:
                running.start_moto()
            if "firestore" in kinds:
                running.start_firestore()
            if "azure" in kinds:
                running.start_azurite()
            if "gcs" in kinds:
                running.start_fake_gcs()
            for name, why in running.missing.items():
                log(f"{name} did not start: {why}")
            yield running
        finally:
            running.stop()
