"""Fixtures: a private copy of terraform/ per session, terraform run offline, moto on loopback.

Working copies keep ``.terraform/`` and state files out of the repository; each directory is
initialised at most once per session (``terraform init`` is the slow part).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.emulators import free_port, port_open, unavailable
from tests.terraform.hcl import TERRAFORM
from tests.terraform.tf import Terraform, offline_env, require_aws_mirror, terraform_binary

ROOTS = Path(__file__).resolve().parent / "roots"
SHARED = ROOTS / "_shared"


@pytest.fixture(scope="session")
def tf_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform/ with the test root modules beside the modules (``_NAME/``), each
    with the files of ``roots/_shared/`` (the provider on moto, the variables) added."""
    workspace = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(
        TERRAFORM, workspace, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
    )
    for root in ROOTS.iterdir():
        if root.is_dir() and root != SHARED:
            shutil.copytree(root, workspace / f"_{root.name}")
            for shared in SHARED.glob("*.tf"):
                shutil.copy(shared, workspace / f"_{root.name}" / shared.name)
    return workspace


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return offline_env(tmp_path_factory.mktemp("tf-home"))


@pytest.fixture(scope="session")
def terraform(tf_workspace: Path, tf_env: dict[str, str]) -> Callable[[str], Terraform]:
    """``terraform(relative_dir)``: a Terraform in the session's copy (not initialised)."""
    binary = terraform_binary()

    def make(relative: str) -> Terraform:
        return Terraform(binary, tf_workspace / relative, tf_env)

    return make


@pytest.fixture(scope="session")
def initialised(terraform: Callable[[str], Terraform]) -> Callable[[str], Terraform]:
    """``initialised(relative_dir)``: ``terraform init`` from the local AWS mirror, once."""
    plugin_dir = require_aws_mirror()
    done: dict[str, Terraform] = {}

    def get(relative: str) -> Terraform:
        if relative not in done:
            tf = terraform(relative)
            tf.init(plugin_dir)
            done[relative] = tf
        return done[relative]

    return get


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's ThreadedMotoServer on a free loopback port (DynamoDB, IAM, STS)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        unavailable("moto[server]", str(exc))
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        if not port_open(port):
            unavailable("moto server", f"nothing listens on 127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
