"""Run the terraform CLI offline: the local AWS provider mirror, no CLI config, no telemetry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.emulators import unavailable

#: The local provider mirror (hashicorp/aws only); override for another layout.
PLUGIN_DIR = Path(os.environ.get("CLOUDLEASE_TF_PLUGIN_DIR", "/opt/tf-plugins"))
AWS_PROVIDER = PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws"
#: Generous: an apply against moto waits for tables, PITR and TTL to settle.
TIMEOUT = 300


def terraform_binary() -> str:
    """The terraform CLI, or skip/fail (CI) with the reason."""
    binary = shutil.which("terraform")
    if binary is None:
        unavailable("terraform", "no `terraform` on PATH (install Terraform >= 1.5)")
    return binary


def require_aws_mirror() -> Path:
    """The plugin directory holding hashicorp/aws, or skip/fail (CI) with the reason."""
    if not any(AWS_PROVIDER.glob("*/*/terraform-provider-aws_*")):
        unavailable(
            "the hashicorp/aws provider mirror",
            f"nothing under {AWS_PROVIDER} (set CLOUDLEASE_TF_PLUGIN_DIR to a plugin directory)",
        )
    return PLUGIN_DIR


def offline_env(home: Path) -> dict[str, str]:
    """An environment in which terraform reads no user config and calls nothing outside."""
    config = home / "terraformrc"
    config.touch()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "AWS_", "GOOGLE_", "ARM_"))
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
    )
    return env


class Terraform:
    """terraform in one working directory."""

    def __init__(self, binary: str, workdir: Path, env: Mapping[str, str]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.env = dict(env)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``terraform ARGS -no-color``; raise with its output when ``check`` and it fails."""
        command = [self.binary, *args, "-no-color"]
        result = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`terraform {' '.join(args)}` in {self.workdir} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def init(self, plugin_dir: Path) -> None:
        self.run("init", "-backend=false", f"-plugin-dir={plugin_dir}", "-input=false")

    def apply(self, variables: Mapping[str, str], *, destroy: bool = False) -> None:
        flags = [f"-var={key}={value}" for key, value in variables.items()]
        mode = ["-destroy"] if destroy else []
        self.run("apply", *mode, "-auto-approve", "-input=false", *flags)

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` as ``{name: value}``."""
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: entry["value"] for name, entry in raw.items()}
