"""Fixtures: moto servers on loopback (subprocesses), test credentials, fresh tables."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators import ROOT, ManagedProcess, free_port, port_open, unavailable

if TYPE_CHECKING:  # boto3 and the provider load when a fixture needs them, not at collection
    import boto3

    from cloudlease_dynamodb import DynamoDBStore

REGION = "us-east-1"
#: Test credentials and no config files: nothing can reach real AWS or an instance role.
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_tables = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def aws_test_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in TEST_ENV.items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


def _start_moto(name: str, tmp: Path, *flags: str) -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        unavailable("moto[server]", str(exc))
    port = free_port()
    server = ManagedProcess(
        name,
        [sys.executable, "-m", "tests.dynamodb.moto_server", str(port), *flags],
        log_dir=tmp,
        cwd=ROOT,
        env=dict(os.environ, **TEST_ENV),
    )
    try:
        server.wait_until(lambda: port_open(port), timeout=30)
    except RuntimeError as exc:
        unavailable(name, str(exc))
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's ThreadedMotoServer (not atomic under racing requests: sequential tests only)."""
    yield from _start_moto("moto-threaded", tmp_path_factory.mktemp("moto"))


@pytest.fixture(scope="session")
def locked_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto behind one global lock: for every test where requests race."""
    yield from _start_moto("moto-locked", tmp_path_factory.mktemp("moto-locked"), "--locked")


def new_table_name(prefix: str = "leases") -> str:
    return f"{prefix}-{os.getpid()}-{next(_tables)}"


_session: boto3.Session | None = None


def session() -> boto3.Session:
    """One boto3 session for the tests' stores (a session loads service models once)."""
    global _session
    if _session is None:
        import boto3

        _session = boto3.Session()
    return _session


def create_table(endpoint: str | None, name: str | None = None) -> str:
    """A fresh table created through the store's own init (default attribute names)."""
    from cloudlease_dynamodb import DynamoDBStore

    table = name or new_table_name()
    store = DynamoDBStore(table, region=REGION, endpoint_url=endpoint, session=session())
    store.init()
    store.close()
    return table


def client(endpoint: str | None, **config: Any) -> Any:
    from botocore.config import Config

    return session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        config=Config(**config) if config else None,
    )


StoreMaker = Callable[..., "DynamoDBStore"]


@pytest.fixture
def http_table(moto_endpoint: str) -> str:
    """A fresh table on the threaded moto server."""
    return create_table(moto_endpoint)


@pytest.fixture
def make_http_store(moto_endpoint: str, http_table: str) -> StoreMaker:
    """``make(**options)`` -> a store on a table of its own on the threaded moto server."""
    table = http_table

    def make(**options: Any) -> DynamoDBStore:
        from cloudlease_dynamodb import DynamoDBStore

        options.setdefault("region", REGION)
        options.setdefault("endpoint_url", moto_endpoint)
        options.setdefault("session", session())
        return DynamoDBStore(table, **options)

    return make
