"""What only Cloud Storage has: request counts, generation preconditions, 429 back-off, lost
responses, the ttl minimum, and bad input, on fake-gcs-server (faults injected by a requests
adapter on the client's session)."""

from __future__ import annotations

from collections import Counter

import pytest

from cloudlease import cli
from cloudlease.errors import (
    ConfigError,
    CorruptRecord,
    LeaseHeld,
    LeaseLost,
    StoreMisconfigured,
)
from cloudlease.testing import FakeClock
from cloudlease.urls import open_store
from cloudlease_gcs import IAM_ROLE, KIND, SCHEMA, GCSState, GCSStore, from_url
from tests.gcs.conftest import PROJECT, StoreMaker, client, new_bucket_name
from tests.gcs.wire import Wire
from tests.wire.object_stores import ObjectStoreWire

A, B = "holder-a", "holder-b"


def test_each_operation_is_one_conditional_upload_plus_a_read_only_where_unknown(
    objects: ObjectStoreWire,
) -> None:
    objects.assert_costs(GCSState)


def test_a_stale_generation_is_refused_and_the_acquire_decides_on_a_fresh_read(
    make_store: StoreMaker,
) -> None:
    clock = FakeClock()
    a, b = make_store(clock=clock), make_store(clock=clock)
    a.release(a.acquire("job", A, 10))
    theirs = b.acquire("job", B, 10)
    wire = Wire(a.client)
    with pytest.raises(LeaseHeld):
        a.acquire("job", A, 10)
    assert wire.requests == Counter({"upload": 1, "download": 1})  # 412, then read
    assert a.get("job") == theirs.record
    clock.advance(12)
    mine = a.acquire("job", A, 10)
    with pytest.raises(LeaseLost):
        b.renew(theirs)
    assert b.release(theirs) is False
    assert a.get("job") == mine.record


def test_a_429_is_retried_with_backoff_and_never_reported_as_held(make_store: StoreMaker) -> None:
    clock = FakeClock(autoadvance=True)
    store = make_store(clock=clock)
    wire = Wire(store.client)
    wire.respond("upload", 429, "rateLimitExceeded", times=2)
    before = clock.monotonic()
    lease = store.acquire("job", A, 10)
    assert wire.requests == Counter({"download": 1, "upload": 3})
    assert clock.monotonic() - before >= 0.25 + 0.5  # at least half of each back-off step
    assert store.get("job") == lease.record


def test_429_past_the_retry_budget_is_store_unavailable_and_writes_nothing(
    objects: ObjectStoreWire,
) -> None:
    error, _ = objects.throttled_past_the_budget(
        lambda wire: wire.respond("upload", 429, "rateLimitExceeded", times=100), 1.0
    )
    assert "one write per second" in str(error)


def test_the_ttl_minimum_follows_from_one_write_per_second(make_store: StoreMaker) -> None:
    store = make_store()
    assert store.capabilities.min_ttl == 6.0
    with pytest.raises(ConfigError, match="one write per second per object"):
        store.acquire("job", A, 3)
    assert store.get("job") is None


@pytest.mark.parametrize("kind", ["timeout", "5xx"])
def test_a_lost_upload_response_is_resolved_by_reading_back(
    objects: ObjectStoreWire, kind: str
) -> None:
    objects.assert_a_lost_write_is_read_back(kind)


def test_the_object_is_plain_json_that_names_the_holder(objects: ObjectStoreWire) -> None:
    lease, document = objects.stored_document(KIND, SCHEMA)
    assert document["record"]["holder"] == A and document["record"]["token"] == lease.token


# -- bad input ------------------------------------------------------------------------------


def test_a_missing_bucket_is_store_misconfigured_and_init_creates_it_only_when_asked(
    fake_gcs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = new_bucket_name("missing")
    store = GCSStore(bucket, project=PROJECT)
    for call in (lambda: store.acquire("job", A, 10), store.init):
        with pytest.raises(StoreMisconfigured) as caught:
            call()
        message = str(caught.value)
        assert bucket in message and "--create-bucket" in message and "terraform/gcs" in message
    assert client().lookup_bucket(bucket) is None
    url = f"gs://{bucket}/leases?project={PROJECT}"
    assert cli.main(["init", "--store", url]) == cli.EX_UNAVAILABLE
    assert cli.main(["init", "--create-bucket", "--store", url]) == 0
    assert "is ready" in capsys.readouterr().out
    assert client().lookup_bucket(bucket) is not None
    assert [blob.name for blob in client().list_blobs(bucket)] == []  # check object removed
    assert GCSStore(bucket, "leases", project=PROJECT).acquire("job", A, 10).holder == A


def test_permission_denied_names_the_role_and_writes_nothing(make_store: StoreMaker) -> None:
    store = make_store(clock=FakeClock())
    held = store.acquire("job", A, 10)
    Wire(store.client).respond("upload", 403, "forbidden")
    with pytest.raises(StoreMisconfigured) as caught:
        store.renew(held)
    message = str(caught.value)
    assert IAM_ROLE in message and "leases/" in message and "'job'" in message
    assert store.get("job") == held.record


@pytest.mark.parametrize("prefix", ["has space/", "a%2Fb", "x/../y", "new\nline", "a?b"])
def test_a_prefix_the_store_cannot_hold_is_refused_before_any_request(prefix: str) -> None:
    with pytest.raises(ConfigError, match="invalid object prefix"):
        GCSStore("some-bucket", prefix, project=PROJECT)


@pytest.mark.parametrize(
    "url",
    [
        "gs://",
        "gs://UPPER/leases",
        "gs://google-x/leases",
        "gs://bucket/leases?projet=x",
        "gs://bucket/leases?project=",
        "gs://bucket/leases?create_bucket=maybe",
    ],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


def test_the_url_round_trips_through_the_entry_point() -> None:
    store = open_store("gs://my-bucket/team/leases?project=my-project")
    assert isinstance(store, GCSStore)
    assert (store.bucket, store.prefix, store.project) == (
        "my-bucket",
        "team/leases/",
        "my-project",
    )
    assert from_url(store.url).url == store.url
    assert open_store("gs://my-bucket").url == "gs://my-bucket/cloudlease/"


def test_someone_elses_object_is_refused_and_never_overwritten(
    make_store: StoreMaker, bucket: str
) -> None:
    blob = client().bucket(bucket).blob("leases/job")
    blob.upload_from_string(b"quarterly numbers, do not touch")
    store = make_store(clock=FakeClock())
    for call in (lambda: store.acquire("job", A, 10), lambda: store.get("job"), store.records):
        with pytest.raises(CorruptRecord) as caught:
            call()
        message = str(caught.value)
        assert "not a cloudlease lease record" in message and "'job'" in message
        assert f"gs://{bucket}/leases/job" in message
    assert blob.download_as_bytes() == b"quarterly numbers, do not touch"
