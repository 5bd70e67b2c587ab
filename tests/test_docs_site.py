"""The documentation site builds with ``mkdocs build --strict`` (no broken link, no missing
reference, no missing snippet) and its API reference covers every public name of cloudlease."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cloudlease

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_strictly_with_the_whole_public_api(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    api = (tmp_path / "api" / "index.html").read_text()
    documented = set(re.findall(r'id="cloudlease\.(\w+)"', api))
    assert set(cloudlease.__all__) - documented == set()
    for store, permissions in [
        ("dynamodb", "IAM actions"),
        ("firestore", "roles/datastore.user"),
        ("azure_blob", "Storage Blob Data Contributor"),
        ("s3", "Permissions"),
        ("gcs", "roles/storage.objectUser"),
    ]:
        page = (tmp_path / store / "index.html").read_text()
        assert permissions in page and "Local work" in page  # the README and the notes, one page
        assert "--8&lt;--" not in page  # every snippet was found
