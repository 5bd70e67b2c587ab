"""The bad-input matrix: bad names, durations, metadata, URLs, stores and credentials, through
the API and the CLI, on the real stores.

Every case must raise a typed error (or exit with the CLI's code for it) whose message names the
lease (where there is one), the store and the fix, and must leave the stored record exactly as
it was: each case runs against a store where lease ``job`` is held, and reads it back after.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudlease import cli
from cloudlease.errors import ConfigError, StoreMisconfigured
from cloudlease.lease import LeaseRecord
from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.urls import open_store
from tests.helpers import run_args

A = "holder-a"
#: Words by which a message tells the user what to do next.
FIX = re.compile(
    r"\b(use|pass|must be|create|check|set|retry|install|grant|run|refresh|point|rename|keep|"
    r"export|expected|known|replace|add|give|stop acting|acquire again)\b",
    re.IGNORECASE,
)
STORES = ["memory", "sqlite", "dynamodb", "firestore", "azure_blob"]


class Env:
    """One real store with lease ``job`` held by ``A``, and how to reach it again."""

    def __init__(
        self, kind: str, store: BaseStore, reopen: Callable[..., BaseStore], where: Any
    ) -> None:
        self.kind = kind
        self.store = store
        self.reopen = reopen  # reopen(**options) -> another store object on the same place
        self.where = where  # the endpoint / emulator / Azurite the store talks to
        self.ttl = 15.0 if kind == "azure_blob" else 10.0
        self.lease = store.acquire("job", A, self.ttl, {"v": 1})

    @property
    def url(self) -> str:
        return self.store.url

    def record(self) -> LeaseRecord | None:
        """The record as stored (Azure's ``get`` reports a moving expiry while leased, so its
        stored record is read instead)."""
        if self.kind == "azure_blob":
            stored = self.store.run(self.store.blobs.read("job"))  # type: ignore[attr-defined]
            return None if stored is None else stored.record
        return self.store.get("job")


@pytest.fixture(scope="module")
def places(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``open(kind)`` -> (store, reopen, where) on a fresh namespace of that store."""

    def open_(kind: str) -> tuple[BaseStore, Callable[..., BaseStore], Any]:
        if kind == "memory":
            shelf = f"matrix-{uuid.uuid4().hex[:8]}"
            return MemoryStore(shelf), lambda **o: MemoryStore(shelf, **o), None
        if kind == "sqlite":
            path = tmp_path_factory.mktemp("matrix") / "leases.db"
            return SQLiteStore(path), lambda **o: SQLiteStore(path, **o), path
        if kind == "dynamodb":
            from cloudlease_dynamodb import DynamoDBStore
            from tests.dynamodb.conftest import REGION, create_table, session

            endpoint = request.getfixturevalue("moto_endpoint")
            table = create_table(endpoint)

            def dynamo(**o: Any) -> BaseStore:
                o.setdefault("region", REGION)
                return DynamoDBStore(table, endpoint_url=endpoint, session=session(), **o)

            return dynamo(), dynamo, endpoint
        if kind == "firestore":
            from cloudlease_firestore import FirestoreStore
            from tests.firestore.conftest import PROJECT

            emulator = request.getfixturevalue("emulator")
            collection = f"matrix_{uuid.uuid4().hex[:8]}"

            def firestore(**o: Any) -> BaseStore:
                return FirestoreStore(PROJECT, collection, **o)

            return firestore(), firestore, emulator
        azurite = request.getfixturevalue("azurite")
        container = azurite.new_container()
        return azurite.store(container)[0], lambda **o: azurite.store(container, **o)[0], azurite

    return open_


@pytest.fixture
def env_for(places: Any) -> Iterator[Callable[[str], Env]]:
    made: list[Env] = []

    def make(kind: str) -> Env:
        env = Env(kind, *places(kind))
        made.append(env)
        return env

    yield make
    for env in made:
        env.store.close()


def assert_explains(text: str, *, lease: str | None, store: str | None) -> None:
    """The message names the lease, the store and what to do."""
    if lease is not None:
        assert repr(lease) in text or lease in text, f"lease {lease!r} not named: {text}"
    if store is not None:
        assert store in text, f"store {store} not named: {text}"
    assert FIX.search(text), f"no next step in: {text}"


# -- API: the same bad inputs on every store -------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    id: str
    act: Callable[[Env], object]
    lease: str | None = "job"  # the lease the message must name (None: a bad name, shown)
    shown: str = ""  # text the message must show (the bad value)


API_CASES = [
    ApiCase("empty-name", lambda e: e.store.acquire("", A, e.ttl), None, "''"),
    ApiCase("name-with-space", lambda e: e.store.acquire("has space", A, e.ttl), None, "has space"),
    ApiCase("name-with-slash", lambda e: e.store.acquire("a/b", A, e.ttl), None, "a/b"),
    ApiCase("name-too-long", lambda e: e.store.acquire("x" * 201, A, e.ttl), None, "xxx"),
    ApiCase("ttl-zero", lambda e: e.store.acquire("job", A, 0), shown="ttl"),
    ApiCase("ttl-negative", lambda e: e.store.acquire("job", A, -5), shown="ttl"),
    ApiCase("ttl-nan", lambda e: e.store.acquire("job", A, float("nan")), shown="nan"),
    ApiCase("ttl-string", lambda e: e.store.acquire("job", A, "10"), shown="'10'"),  # type: ignore[arg-type]
    ApiCase(
        "ttl-below-store-minimum",
        lambda e: e.store.acquire("job", A, e.store.capabilities.min_ttl / 2),
        shown="minimum",
    ),
    ApiCase(
        "metadata-not-an-object",
        lambda e: e.store.acquire("job", A, e.ttl, ["a", "list"]),  # type: ignore[arg-type]
        shown="list",
    ),
    ApiCase(
        "metadata-too-big",
        lambda e: e.store.acquire("job", A, e.ttl, {"blob": "x" * 2000}),
        shown="bytes",
    ),
    ApiCase(
        "metadata-not-json",
        lambda e: e.store.acquire("job", A, e.ttl, {"when": object()}),
        shown="JSON",
    ),
    ApiCase(
        "metadata-nan",
        lambda e: e.store.acquire("job", A, e.ttl, {"x": float("nan")}),
        shown="JSON",
    ),
    ApiCase("holder-empty", lambda e: e.store.acquire("job", "", e.ttl), shown="holder"),
    ApiCase("renew-ttl-negative", lambda e: e.store.renew(e.lease, -1), shown="ttl"),
    ApiCase("get-bad-name", lambda e: e.store.get("no spaces allowed"), None, "no spaces"),
]


@pytest.mark.parametrize("kind", STORES)
@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_api_bad_input(case: ApiCase, kind: str, env_for: Callable[[str], Env]) -> None:
    env = env_for(kind)
    before = env.record()
    with pytest.raises(ConfigError) as caught:
        case.act(env)
    text = str(caught.value)
    assert_explains(text, lease=case.lease, store=env.url)
    assert case.shown in text
    assert env.record() == before


# -- stores that cannot serve: missing places, wrong credentials, wrong region ---------------


def missing_table(env: Env) -> BaseStore:
    from cloudlease_dynamodb import DynamoDBStore
    from tests.dynamodb.conftest import REGION, session

    return DynamoDBStore("no-such-table", region=REGION, endpoint_url=env.where, session=session())


def wrong_region(env: Env) -> BaseStore:
    return env.reopen(region="eu-west-3")


def dynamodb_rejects_credentials(env: Env) -> BaseStore:
    from tests.dynamodb.wire import Wire

    store = env.reopen()
    Wire(store.client).respond("UpdateItem", "UnrecognizedClientException", status=400)  # type: ignore[attr-defined]
    return store


def firestore_denies(code_name: str, details: str) -> Callable[[Env], BaseStore]:
    def open_(env: Env) -> BaseStore:
        from grpc import StatusCode

        from tests.firestore.conftest import PROJECT
        from tests.firestore.interceptors import Interceptor, intercepted_client

        interceptor = Interceptor()
        for method in ("BatchGetDocuments", "Commit"):
            interceptor.fail(method, getattr(StatusCode, code_name), details)
        return env.reopen(client=intercepted_client(env.where.host, PROJECT, interceptor))

    return open_


def missing_container(env: Env) -> BaseStore:
    store: BaseStore = env.where.store("never" + uuid.uuid4().hex[:8])[0]
    return store


def wrong_key(env: Env) -> BaseStore:
    from azure.storage.blob import ContainerClient

    from cloudlease_azure_blob import AzureBlobStore
    from tests.azure_blob.azurite import ACCOUNT, KEY, quick_retries

    wrong = env.where.connection_string.replace(KEY, "A" * 86 + "==")
    container = env.url.rsplit("/", 1)[1]
    bad = ContainerClient.from_connection_string(wrong, container, retry_policy=quick_retries())
    assert ACCOUNT in env.url
    return AzureBlobStore(env.url, container_client=bad)


def missing_directory(env: Env) -> BaseStore:
    return SQLiteStore(Path(env.where).parent / "missing" / "x.db")


@dataclass(frozen=True)
class StoreCase:
    id: str
    kind: str
    open: Callable[[Env], BaseStore]
    fix: str  # the fix the message must give


STORE_CASES = [
    StoreCase("dynamodb-missing-table", "dynamodb", missing_table, "cloudlease init"),
    StoreCase("dynamodb-wrong-region", "dynamodb", wrong_region, "eu-west-3"),
    StoreCase("dynamodb-bad-credentials", "dynamodb", dynamodb_rejects_credentials, "Refresh"),
    StoreCase(
        "firestore-wrong-credentials",
        "firestore",
        firestore_denies("PERMISSION_DENIED", "Missing or insufficient permissions."),
        "roles/datastore.user",
    ),
    StoreCase(
        "firestore-missing-database",
        "firestore",
        firestore_denies("NOT_FOUND", "The database (default) does not exist for project x"),
        "gcloud firestore databases create",
    ),
    StoreCase("azure-missing-container", "azure_blob", missing_container, "cloudlease init"),
    StoreCase("azure-wrong-key", "azure_blob", wrong_key, "key"),
    StoreCase("sqlite-missing-directory", "sqlite", missing_directory, "create it"),
]


@pytest.mark.parametrize("case", STORE_CASES, ids=lambda c: c.id)
def test_a_store_that_cannot_serve(case: StoreCase, env_for: Callable[[str], Env]) -> None:
    env = env_for(case.kind)
    before = env.record()
    bad = case.open(env)
    with pytest.raises(StoreMisconfigured) as caught:
        bad.acquire("job", "holder-b", env.ttl)
    text = str(caught.value)
    assert_explains(text, lease="job", store=None)
    assert bad.url in text and case.fix in text, text
    assert env.record() == before


# -- URLs ------------------------------------------------------------------------------------

BAD_URLS = [
    "nonsense",
    "gopher://somewhere",
    "sqlite://",
    "sqlite:///leases.db?bogus=1",
    "sqlite:///leases.db?timeout=soon",
    "sqlite:///leases.db?table=no-dashes",
    "memory://a/b",
    "dynamodb://",
    "dynamodb://t-table?region=",
    "dynamodb://t-table?nope=1",
    "dynamodb://bad%20name",
    "firestore://proj/col/extra/segments",
    "firestore://proj/col?timeout=soon",
    "firestore://proj/col?nope=1",
    "azblob://account-only",
    "azblob://acct/UPPER",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls_are_refused_before_any_request(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    assert_explains(str(caught.value), lease=None, store=url.split("?", maxsplit=1)[0])


# -- CLI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliCase:
    id: str
    argv: Callable[[str], list[str]]  # argv for the store URL
    code: int
    lease: str | None = "job"
    names_store: bool = True


CLI_CASES = [
    CliCase("run-bad-name", lambda u: run_args(u, "a b", "true"), 2, None),
    CliCase("run-ttl-zero", lambda u: run_args(u, "job", "true", ttl="0"), 2),
    CliCase("run-ttl-nan", lambda u: run_args(u, "job", "true", ttl="nan"), 2),
    CliCase("run-metadata-list", lambda u: run_args(u, "job", "true", metadata="[1]"), 2),
    CliCase("run-metadata-not-json", lambda u: run_args(u, "job", "true", metadata="{oops"), 2),
    CliCase(
        "run-metadata-too-big",
        lambda u: run_args(u, "job", "true", metadata='{"x":"' + "y" * 2000 + '"}'),
        2,
    ),
    CliCase(
        "release-bad-name",
        lambda u: ["release", "--store", u, "--lease", "a/b", "--force"],
        2,
        None,
    ),
    CliCase("status-bad-name", lambda u: ["status", "--store", u, "--lease=-dash"], 2, None),
    CliCase(
        "run-unknown-scheme",
        lambda u: run_args("gopher://x", "job", "true"),
        2,
        None,
        False,
    ),
]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_bad_input(
    case: CliCase, kind: str, env_for: Callable[[str], Env], capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_for(kind)
    before = env.record()
    assert cli.main(case.argv(env.url)) == case.code
    text = capsys.readouterr().err
    assert_explains(text, lease=case.lease, store=env.url if case.names_store else None)
    assert env.record() == before


def test_cli_without_a_store_says_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOUDLEASE_STORE", raising=False)
    assert cli.main(["run", "--lease", "job", "--", "true"]) == 2
    assert_explains(capsys.readouterr().err, lease=None, store=None)


def test_cli_on_a_missing_table_exits_unavailable_and_names_init(
    env_for: Callable[[str], Env], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = missing_table(env_for("dynamodb"))
    assert cli.main(run_args(bad.url, "job", "true")) == 69
    text = capsys.readouterr().err
    assert_explains(text, lease="job", store=bad.url)
    assert "cloudlease init" in text


# -- the store goes away in the middle of a hold ---------------------------------------------


def test_emulator_stopped_in_the_middle_of_a_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A private Azurite (on disk) stops while a lease is held: renew and release raise
    StoreUnavailable naming the lease, the store and the fix, the keeper
    steps down at the local deadline, and after a restart the record is exactly as it was."""
    import shutil

    from cloudlease.errors import StoreUnavailable
    from cloudlease.keeper import hold
    from cloudlease.testing.clock import FakeClock
    from tests.azure_blob.azurite import Azurite
    from tests.azure_blob.conftest import AZURITE_BIN
    from tests.emulators import ManagedProcess, free_port, port_open, unavailable

    if not AZURITE_BIN.exists() or shutil.which("node") is None:
        unavailable("Azurite", f"{AZURITE_BIN} or node is missing")
    port, workdir = free_port(), tmp_path / "azurite"
    workdir.mkdir()

    def start() -> ManagedProcess:
        server = ManagedProcess(
            "azurite-private",
            [
                str(AZURITE_BIN),
                *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
                *("--location", str(workdir), "--disableTelemetry", "--skipApiVersionCheck"),
            ],
            log_dir=tmp_path,
            cwd=workdir,
        )
        server.wait_until(lambda: port_open(port), timeout=60)
        return server

    server = start()
    try:
        azurite = Azurite(port)
        container = azurite.new_container()
        clock = FakeClock()
        store, _ = azurite.store(container, clock=clock)
        with hold(store, "job", ttl=15, holder=A, metadata={"v": 1}) as held:
            stored = store.run(store.blobs.read("job"))
            assert stored is not None
            before = stored.record
            server.stop()
            for act in (lambda: store.renew(held.lease), lambda: store.release(held.lease)):
                with pytest.raises(StoreUnavailable) as caught:
                    act()
                assert_explains(str(caught.value), lease="job", store=store.url)
            clock.advance(15)  # the keeper's renewals fail until the local deadline
            assert held.lost.wait(10), "the keeper did not step down"
            assert "stepped down" in (held.reason or "")
        server = start()
        stored = store.run(store.blobs.read("job"))
        assert stored is not None and stored.record == before
    finally:
        server.stop()
