"""Bad input and stores that cannot serve, on moto: each a typed error naming the lease, the
store and the fix, and nothing overwritten."""

from __future__ import annotations

from collections import Counter

import pytest

from cloudlease import cli
from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreMisconfigured
from cloudlease.testing import FakeClock
from cloudlease.urls import open_store
from cloudlease_s3 import INIT_CHECK, S3Store, from_url
from tests.dynamodb.conftest import REGION, session
from tests.s3.conftest import StoreMaker, client, new_bucket_name
from tests.s3.wire import Wire

A = "holder-a"


def test_a_missing_bucket_is_store_misconfigured_naming_init_and_terraform(
    endpoint: str,
) -> None:
    bucket = new_bucket_name("missing")
    store = S3Store(bucket, region=REGION, endpoint_url=endpoint, session=session())
    for call in (lambda: store.acquire("job", A, 10), lambda: store.get("job"), store.init):
        with pytest.raises(StoreMisconfigured) as caught:
            call()
        message = str(caught.value)
        assert bucket in message and "--create-bucket" in message and "terraform/s3" in message
    assert bucket not in [b["Name"] for b in client(endpoint).list_buckets()["Buckets"]]


def test_init_creates_the_bucket_only_when_asked_and_checks_the_prefix_is_writable(
    endpoint: str,
) -> None:
    bucket = new_bucket_name("created")
    store = S3Store(bucket, "team/leases", region=REGION, endpoint_url=endpoint, session=session())
    wire = Wire(store.client)
    store.init(create_bucket=True)
    assert wire.requests == Counter(
        {
            "HeadBucket": 1,
            "CreateBucket": 1,
            "PutPublicAccessBlock": 1,
            "PutObject": 1,
            "DeleteObject": 1,
        }
    )
    store.init()  # idempotent: the bucket is there now
    objects = client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])
    assert objects == []  # the write check cleaned up after itself
    assert store.acquire("job", A, 10).holder == A
    assert store.records()[0].name == "job"
    assert f"team/leases/{INIT_CHECK}".startswith(store.prefix)


def test_cli_init_creates_a_bucket_only_with_create_bucket(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{new_bucket_name('cli')}/leases?region={REGION}&endpoint_url={endpoint}"
    assert cli.main(["init", "--store", url]) == cli.EX_UNAVAILABLE
    assert "--create-bucket" in capsys.readouterr().err
    assert cli.main(["init", "--create-bucket", "--store", url]) == 0
    assert "is ready" in capsys.readouterr().out
    assert cli.main(["init", "--store", url]) == 0


def test_cli_create_bucket_is_refused_for_stores_without_buckets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["init", "--create-bucket", "--store", "memory://x"]) == cli.EX_USAGE
    assert "s3:// and gs://" in capsys.readouterr().err


def test_access_denied_names_the_actions_and_the_prefix_and_writes_nothing(
    make_http_store: StoreMaker,
) -> None:
    store = make_http_store(clock=FakeClock())
    held = store.acquire("job", A, 10)
    wire = Wire(store.client)
    wire.respond("PutObject", "AccessDenied", 403)
    with pytest.raises(StoreMisconfigured) as caught:
        store.renew(held)
    message = str(caught.value)
    assert "s3:PutObject" in message and "leases/" in message and "'job'" in message
    assert store.get("job") == held.record


@pytest.mark.parametrize(
    "prefix", ["has space/", "a%2Fb", "quote'd", "x/../y", "back\\slash", "tab\there", "a#b"]
)
def test_a_prefix_the_store_cannot_hold_is_refused_before_any_request(prefix: str) -> None:
    with pytest.raises(ConfigError, match="invalid object prefix") as caught:
        S3Store("some-bucket", prefix, region=REGION, session=session())
    assert "e.g. 'leases/prod/'" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3://Bad_Bucket/leases",
        "s3://bucket/leases?regio=x",
        "s3://bucket/leases?region=",
        "s3://bucket/leases?endpoint_url=ftp://x",
        "s3://bucket/leases?create_bucket=maybe",
        "s3://bucket/has%20space",
    ],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


def test_the_url_round_trips_through_the_entry_point(endpoint: str) -> None:
    url = f"s3://my-bucket/team/leases/?region={REGION}&endpoint_url={endpoint}"
    store = open_store(url)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("my-bucket", "team/leases/")
    assert from_url(store.url).url == store.url
    assert open_store("s3://my-bucket?region=eu-west-1").url == (
        "s3://my-bucket/cloudlease/?region=eu-west-1"
    )
    assert from_url("s3://b-1/x?create_bucket=true&region=eu-west-1").create_bucket


def test_someone_elses_object_is_refused_and_never_overwritten(
    make_http_store: StoreMaker, bucket: str, endpoint: str
) -> None:
    raw = client(endpoint)
    raw.put_object(Bucket=bucket, Key="leases/job", Body=b"quarterly numbers, do not touch")
    store = make_http_store(clock=FakeClock())
    calls = [
        lambda: store.acquire("job", A, 10),
        lambda: store.get("job"),
        lambda: store.force_release("job"),
        store.records,
    ]
    for call in calls:
        with pytest.raises(CorruptRecord) as caught:
            call()
        message = str(caught.value)
        assert "not a cloudlease lease record" in message and "'job'" in message
        assert (
            f"s3://{bucket}/leases/job" in message and "prefix used only by cloudlease" in message
        )
    body = raw.get_object(Bucket=bucket, Key="leases/job")["Body"].read()
    assert body == b"quarterly numbers, do not touch"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"kind":"cloudlease.lease","schema":99,"record":{}}', "upgrade cloudlease"),
        (b'{"kind":"cloudlease.lease","schema":1,"record":{"name":"job"}}', "holder missing"),
        (
            b'{"kind":"cloudlease.lease","schema":1,"record":{"name":"job","holder":"a",'
            b'"token":"7","expires_at":1}}',
            "token='7'",
        ),
        (
            b'{"kind":"cloudlease.lease","schema":1,"record":{"name":"other","holder":"",'
            b'"token":1,"expires_at":1}}',
            "name='other'",
        ),
    ],
)
def test_broken_or_newer_records_are_corrupt_record_naming_the_fix(
    make_http_store: StoreMaker, bucket: str, endpoint: str, body: bytes, expected: str
) -> None:
    client(endpoint).put_object(Bucket=bucket, Key="leases/job", Body=body)
    store = make_http_store(clock=FakeClock())
    with pytest.raises(CorruptRecord, match=expected):
        store.acquire("job", A, 10)
    assert client(endpoint).get_object(Bucket=bucket, Key="leases/job")["Body"].read() == body


def test_renewing_over_someone_elses_object_is_lease_lost(
    make_http_store: StoreMaker, bucket: str, endpoint: str
) -> None:
    store = make_http_store(clock=FakeClock())
    held = store.acquire("job", A, 10)
    client(endpoint).put_object(Bucket=bucket, Key="leases/job", Body=b"overwritten")
    with pytest.raises(LeaseLost, match="overwritten by something else"):
        store.renew(held)


def test_records_skip_nested_objects_and_the_init_check(
    make_http_store: StoreMaker, bucket: str, endpoint: str
) -> None:
    store = make_http_store(clock=FakeClock())
    store.acquire("job", A, 10)
    raw = client(endpoint)
    raw.put_object(Bucket=bucket, Key="leases/archive/old.json", Body=b"{}")
    raw.put_object(Bucket=bucket, Key=f"leases/{INIT_CHECK}", Body=b"x")
    assert [record.name for record in store.records()] == ["job"]
