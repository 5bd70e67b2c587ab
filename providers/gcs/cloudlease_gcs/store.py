"""``GCSStore``: one JSON object per lease, every change one upload with a generation
precondition.

Cloud Storage compares and sets on the object's generation (a new number on every write):
``ifGenerationMatch=0`` creates an object only if there is none, ``ifGenerationMatch=G``
replaces it only if it is still generation G. The read-decide-write is
``cloudlease.stores.versioned``; this module holds the Cloud Storage requests::

    GET lease                     -> record R (holder A, expired), generation g1
    decide                        -> acquired(R, request): holder B, token > R.token
    upload ifGenerationMatch=g1   -> 200, generation g2   (or 412: someone wrote; read again)

A grant keeps its generation in ``Lease.store_state``, so renew and release are one upload
each; an acquire of a lease known to be free costs one upload; a refusal is always decided on
a fresh read.

Cloud Storage allows about one write per second per object (429 beyond it): the store backs
off and retries, and the ttl minimum (6 s, so renewals every ttl/3 are 2 s apart) follows.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions
from google.cloud.storage import Blob, Client

from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError
from cloudlease.store import Capabilities
from cloudlease.stores import objects
from cloudlease.stores.objects import INIT_CHECK
from cloudlease.stores.versioned import (
    ObjectVersion,
    Translate,
    Verdict,
    VersionChanged,
    VersionedStore,
)
from cloudlease_gcs._errors import THROTTLED, Translator

if TYPE_CHECKING:
    import random

    from typing_extensions import Unpack

    from cloudlease._contract import Timing

__all__ = ["EMULATOR_ENV", "INIT_CHECK", "GCSState", "GCSStore", "build_client"]

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


class GCSState(ObjectVersion[int]):
    """What a grant remembers: the generation of the object version it wrote."""

    @property
    def generation(self) -> int:
        return self.version


class GCSStore(VersionedStore[int]):
    """Lease records as JSON objects under one prefix of one Cloud Storage bucket.

    Pass ``client`` (a ``google.cloud.storage.Client``), or ``project`` and ``credentials``
    (default: Application Default Credentials; anonymous when STORAGE_EMULATOR_HOST is set).
    ``retry_budget`` bounds how long 429 answers are retried; ``timeout`` is per request.
    ``create_bucket=True`` lets ``init`` create a missing bucket (otherwise it only checks).
    """

    capabilities = Capabilities(
        min_ttl=6.0,
        ttl_rule=(
            "Cloud Storage allows about one write per second per object, so a lease object "
            "needs a ttl of at least 6 s (renewals every ttl/3 stay 2 s apart, with room for a "
            "back-off after a 429)"
        ),
        round_trips={"acquire": 2, "acquire_known": 1, "renew": 1, "release": 1, "get": 1}
        | {"steal": 2},
    )
    scheme = "gs"
    package = "cloudlease-gcs"
    state_type = GCSState
    first_backoff = 0.5  # seconds; doubles per throttled attempt (the limit is per second)
    max_backoff = 2.0

    def __init__(
        self,
        bucket: str,
        prefix: str = objects.DEFAULT_PREFIX,
        *,
        project: str | None = None,
        client: Client | None = None,
        credentials: Any = None,
        create_bucket: bool = False,
        timeout: Duration = 10.0,
        retry_budget: Duration = 5.0,
        rng: random.Random | None = None,
        **timing: Unpack[Timing],
    ) -> None:
        self.project = project
        super().__init__(
            check_bucket(bucket),
            prefix,
            create_bucket=create_bucket,
            retry_budget=retry_budget,
            rng=rng,
            **timing,
        )
        self.timeout = to_seconds(timeout, what="timeout", store=self.url)
        self._translate = Translator(self.bucket, self.prefix, self.url)
        self._client = client
        self._owns_client = client is None
        self._credentials = credentials
        import threading  # here, not at import

        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        query = f"?project={self.project}" if self.project else ""
        return f"gs://{self.bucket}/{self.prefix}{query}"

    @property
    def client(self) -> Client:
        """The ``storage.Client`` (built on first use)."""
        with self._lock:
            if self._client is None:
                self._client = build_client(self.project, self._credentials, self._translate)
            return self._client

    def blob(self, name: str) -> Blob:
        """A handle (no request) on the object of lease ``name``."""
        return self.client.bucket(self.bucket).blob(self.key(name))

    # -- requests ---------------------------------------------------------------------------

    def _verdict(self, exc: Exception) -> Verdict:
        """429 is retried; 412 and 404 pass to the caller; the rest name bucket and prefix."""
        if isinstance(exc, gexc.PreconditionFailed | gexc.NotFound):
            return Verdict.PASS
        return Verdict.RETRY if isinstance(exc, THROTTLED) else Verdict.FAIL

    def _read_object(self, name: str) -> tuple[bytes, int] | None:
        """One media GET: (body, generation), or None when there is no object."""
        blob = self.blob(name)
        try:
            data = self._call(
                lambda: blob.download_as_bytes(retry=None, timeout=self.timeout),
                lease=name,
                write=False,
                budget=self.retry_budget,
            )
        except gexc.NotFound as exc:
            if "bucket" in str(exc.message).lower():
                raise self._translate(exc, lease=name, write=False) from exc
            return None
        except gexc.PreconditionFailed as exc:  # never asked for: a proxy's answer
            raise self._translate(exc, lease=name, write=False) from exc
        return data, int(blob.generation or 0)

    def _write_object(self, name: str, body: bytes, if_version: int | None, budget: float) -> int:
        """Upload ``body`` if the object is still generation ``if_version`` (None: if there is
        none)."""
        blob = self.blob(name)
        try:
            self._call(
                lambda: blob.upload_from_string(
                    body,
                    content_type="application/json",
                    if_generation_match=if_version or 0,
                    retry=None,
                    timeout=self.timeout,
                ),
                lease=name,
                write=True,
                budget=budget,
            )
        except gexc.PreconditionFailed:
            raise VersionChanged from None
        except gexc.NotFound as exc:
            raise self._translate(exc, lease=name, write=True) from exc
        return int(blob.generation or 0)

    def _list_keys(self) -> list[str]:
        client = self.client
        try:
            return [blob.name for blob in client.list_blobs(self.bucket, prefix=self.prefix)]
        except Exception as exc:
            raise self._translate(exc, lease=None, write=False) from exc

    def _delete_object(self, name: str) -> None:
        blob = self.blob(name)
        with contextlib.suppress(gexc.NotFound):
            self._call(
                lambda: blob.delete(retry=None, timeout=self.timeout),
                lease=name,
                write=True,
                budget=self.retry_budget,
            )

    # -- bucket -----------------------------------------------------------------------------

    def _ensure_bucket(self, create: bool) -> None:
        """GET the bucket (created with the project's default location when ``create`` and it
        is missing), then write and delete one object that is not a lease."""
        client = self.client
        try:
            client.get_bucket(self.bucket, retry=None, timeout=self.timeout)
        except gexc.NotFound as exc:
            if not create:
                raise self._translate(exc, lease=None, write=False) from exc
            try:
                client.create_bucket(self.bucket, retry=None, timeout=self.timeout)
            except gexc.Conflict:
                pass  # created meanwhile (by us or someone else): checked below
            except Exception as failure:
                raise self._translate(failure, lease=None, write=False) from failure
        except Exception as exc:
            raise self._translate(exc, lease=None, write=False) from exc
        probe = client.bucket(self.bucket).blob(self.prefix + INIT_CHECK)
        try:
            probe.upload_from_string(b"cloudlease init check\n", retry=None, timeout=self.timeout)
            probe.delete(retry=None, timeout=self.timeout)
        except Exception as exc:
            error = self._translate(exc, lease=None, write=False)
            raise type(error)(
                f"bucket {self.bucket!r} exists but the prefix {self.prefix!r} is not writable "
                f"({error.detail})",
                store=self.url,
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
                self._client = None


#: A bucket name's first and last characters, and the others (sets, not a regex: ``re``
#: compiles at import).
_BUCKET_ENDS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_BUCKET_CHARS = _BUCKET_ENDS | frozenset("._-")


def is_bucket_name(bucket: str) -> bool:
    """3-63 lowercase letters, digits, ``. _ -``, starting and ending with a letter or digit."""
    return (
        3 <= len(bucket) <= 63
        and bucket[0] in _BUCKET_ENDS
        and bucket[-1] in _BUCKET_ENDS
        and set(bucket) <= _BUCKET_CHARS
    )


def check_bucket(bucket: object) -> str:
    """The bucket name, or ConfigError for a name Cloud Storage would reject."""
    if not isinstance(bucket, str) or not is_bucket_name(bucket) or bucket.startswith("goog"):
        raise ConfigError(
            f"invalid Cloud Storage bucket name {bucket!r}: 3-63 lowercase letters, digits, "
            "'.', '_' and '-', starting and ending with a letter or digit, not 'goog...'",
            store=f"gs://{bucket}",
        )
    return bucket


def build_client(project: str | None, credentials: Any, translate: Translate) -> Client:
    """A client for ``project``: Application Default Credentials, or anonymous credentials
    when STORAGE_EMULATOR_HOST points at an emulator (as the Firestore SDK does)."""
    if credentials is None and os.environ.get(EMULATOR_ENV):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        project = project or "cloudlease-emulator"
    try:
        client = Client(project=project, credentials=credentials)
    except auth_exceptions.DefaultCredentialsError as exc:
        raise translate(exc, lease=None, write=False) from None
    # google-cloud-storage >= 3.10 fetches each bucket's metadata once per client in a
    # background thread (for tracing attributes): one more request, and one that needs
    # storage.buckets.get, which a lease holder does not. The client we build skips it.
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None
    return client
