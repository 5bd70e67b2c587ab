"""checkov over terraform/: no failed check, every skip written next to its resource with a reason.

checkov runs from the environment scripts/tools.sh installs (.cache/bin/checkov, pinned), never
the project's venv, and with --skip-download (no policy download from outside).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.emulators import ROOT, unavailable
from tests.terraform.hcl import TERRAFORM

CHECKOV = Path(os.environ.get("CLOUDLEASE_CHECKOV", ROOT / ".cache" / "bin" / "checkov"))
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not os.access(CHECKOV, os.X_OK):
        unavailable("checkov", f"{CHECKOV} is missing (scripts/tools.sh installs it)")
    home = tmp_path_factory.mktemp("checkov-home")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=home,
        env=dict(os.environ, HOME=str(home), BC_SKIP_MAPPING="TRUE"),
    )
    assert result.stdout.strip(), (
        f"checkov printed nothing (exit {result.returncode}):\n{result.stderr}"
    )
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return dict(terraform)


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 0


def test_every_skip_has_a_written_reason_and_is_still_needed(report: dict[str, Any]) -> None:
    written = {}
    for path in TERRAFORM.rglob("*.tf"):
        for match in SKIP_COMMENT.finditer(path.read_text()):
            check, reason = match.group(1), (match.group(2) or "").strip()
            assert len(reason) > 20, f"{path}: skip of {check} without a reason"
            written[(path.relative_to(TERRAFORM).as_posix(), check)] = reason
    used = {
        (c["file_path"].lstrip("/"), c["check_id"]) for c in report["results"]["skipped_checks"]
    }
    # checkov honours a skip only inside the resource it names: used means well placed.
    assert set(written) == used, f"skips never used: {set(written) - used}"
    assert report["summary"]["skipped"] == len(used)
