"""Without ``cloudlease.otel.instrument()`` nothing of OpenTelemetry is imported, and without
the API installed leases work unchanged and ``cloudlease.otel`` names the extra to install
(in subprocesses: a fresh ``sys.modules``)."""

from __future__ import annotations

import subprocess
import sys

USE_WITHOUT_OTEL = """
import sys
from cloudlease import LeaderElector, hold, open_store, single_runner
import cloudlease.cli, cloudlease.status
with hold(open_store("memory://"), "job", ttl=5):
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
assert not loaded, loaded
"""

BLOCK_OTEL = """
import importlib.abc, sys
class NoOtel(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoOtel())
"""

NOT_INSTALLED = """
with hold(open_store("memory://"), "job", ttl=5):
    pass
try:
    import cloudlease.otel
except ImportError as exc:
    print(exc)
"""


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_nothing_of_opentelemetry_is_imported_unless_instrument_is_asked_for() -> None:
    result = python(USE_WITHOUT_OTEL)
    assert result.returncode == 0, result.stderr


def test_without_the_api_installed_leases_work_and_the_extra_is_named() -> None:
    result = python(BLOCK_OTEL + "from cloudlease import hold, open_store\n" + NOT_INSTALLED)
    assert result.returncode == 0, result.stderr
    assert "pip install 'cloudlease[otel]'" in result.stdout
