"""scripts/cloud_smoke.py refuses before any request: no flag, no credentials, bad arguments.

Its runs against emulators are in tests/dynamodb/test_cloud_smoke.py (moto: DynamoDB and S3).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "cloud_smoke.py"
NO_CREDENTIALS = {
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance metadata service
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
    "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent.json",
    "CLOUDSDK_CONFIG": "/nonexistent",
    "PATH": "/usr/bin:/bin",  # no `az`
}
CREDENTIAL_VARIABLES = ("AWS_", "GOOGLE_", "AZURE_", "FIRESTORE_EMULATOR", "STORAGE_EMULATOR")


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_VARIABLES)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=dict(env, **NO_CREDENTIALS),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["dynamodb", "--region", "eu-west-1"],
        ["s3", "--region", "eu-west-1"],
        ["firestore", "--project", "p"],
        ["gcs", "--project", "p"],
        ["azure", "--account", "a"],
    ],
)
def test_without_the_flag_it_refuses_and_says_what_it_would_do(args: list[str]) -> None:
    result = smoke(*args)
    assert result.returncode == 2
    assert "refusing" in result.stderr and "--yes-use-my-account" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["dynamodb", "--region", "eu-west-1"], "no AWS credentials"),
        (["gcs", "--project", "p"], "no Google Application Default Credentials"),
        (["azure", "--account", "a"], "no Azure credentials"),
    ],
)
def test_with_the_flag_but_no_credentials_it_refuses_before_any_request(
    args: list[str], missing: str
) -> None:
    result = smoke(*args, "--yes-use-my-account")
    assert result.returncode == 2
    assert missing in result.stderr and "nothing was requested" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dynamodb"], "dynamodb needs --region"),
        (["firestore"], "firestore needs --project"),
        (["azure"], "azure needs --account"),
        (["redis"], "invalid choice: 'redis'"),
        (["s3", "--region", "r", "--max-requests", "5"], "--max-requests must be 10-1000"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], message: str) -> None:
    result = smoke(*args, "--yes-use-my-account")
    assert result.returncode == 2
    assert message in result.stderr
