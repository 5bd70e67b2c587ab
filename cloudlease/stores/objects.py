"""One lease record per object under a bucket prefix: the JSON layout, the prefix rule, the URL.

Shared by the object stores (``s3://``, ``gs://``). Lease ``NAME`` lives in object
``PREFIX + NAME`` as a small JSON document (``aws s3 cp s3://BUCKET/PREFIX/NAME -`` or
``gcloud storage cat gs://BUCKET/PREFIX/NAME`` shows who leads)::

    {"kind": "cloudlease.lease", "schema": 1,
     "record": {"name": "nightly", "holder": "host:42:ab", "token": ..., "expires_at": ...,
                "acquired_at": ..., "renewed_at": ..., "transitions": 3, "metadata": {}}}

``schema`` is the version of this layout. ``record`` holds every field of ``LeaseRecord``,
as ``LeaseRecord.as_dict()`` gives them (checked against ``_FIELDS`` when read back). An
object without ``kind`` is someone else's file: it is refused (CorruptRecord) and never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import ConfigError, CorruptRecord, StoreMisconfigured
from cloudlease.records import LeaseRecord

KIND = "cloudlease.lease"
#: Version of the object layout above; a newer one is refused by older code.
SCHEMA = 1
DEFAULT_PREFIX = "cloudlease/"
#: Name of the object ``init`` writes (and deletes) to prove the prefix is writable; not a
#: valid lease name, so ``records()`` skips it.
INIT_CHECK = ".cloudlease-init-check"
#: Object names stop at 1024 bytes; the longest lease name is 200.
MAX_PREFIX_BYTES = 1024 - 200
#: Prefix segments: characters every object-store tool and every URL carries unchanged (a
#: segment starts with a letter or digit). Sets, not a regex: ``re`` compiles at import.
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_SEGMENT_CHARS = _ALNUM | frozenset("._=+-")
#: Each field of a stored record and the type its JSON value must have.
_FIELDS: dict[str, type] = {
    "name": str,
    "holder": str,
    "token": int,
    "expires_at": int,
    "acquired_at": int,
    "renewed_at": int,
    "transitions": int,
    "metadata": dict,
    "schema": int,
}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def is_segment(segment: str) -> bool:
    """Whether ``segment`` is one prefix segment: letters, digits and ``. _ = + -``, starting
    with a letter or digit (so never ``.`` or ``..``)."""
    return segment[:1] in _ALNUM and set(segment) <= _SEGMENT_CHARS


def check_prefix(prefix: str, *, store: str) -> str:
    """The object-name prefix, normalised to end with ``/``; ConfigError for what tools mangle.

    ``""`` means the default ``cloudlease/``. Segments use letters, digits and ``. _ = + -``:
    no spaces, ``%``, ``#``, ``?``, quotes, backslashes or control characters, which object
    store tools, URL encoding and lifecycle filters treat differently.
    """
    if prefix in ("", "/"):
        return DEFAULT_PREFIX
    cleaned = prefix.strip("/")
    segments = cleaned.split("/")
    bad = [s for s in segments if not is_segment(s)]
    if bad or len(cleaned.encode()) + 1 > MAX_PREFIX_BYTES:
        raise ConfigError(
            f"invalid object prefix {prefix!r}: use '/'-separated segments of letters, digits "
            f"and . _ = + - (each starting with a letter or digit), at most {MAX_PREFIX_BYTES} "
            "bytes, e.g. 'leases/prod/'",
            store=store,
        )
    return cleaned + "/"


def encode(record: LeaseRecord) -> bytes:
    """The object body for ``record``: compact, key-sorted JSON."""
    body = {"kind": KIND, "schema": SCHEMA, "record": record.as_dict()}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode(
    data: bytes, name: str, *, where: str, store: str, package: str = "cloudlease"
) -> LeaseRecord:
    """The record in an object body; CorruptRecord (naming the fix) if cloudlease did not write it.

    ``where`` names the object (``s3://bucket/key``) and ``package`` the distribution that
    reads it (``cloudlease-s3``) in the messages.
    """
    try:
        body: Any = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("kind") != KIND:
        shown = data[:60].decode(errors="replace")
        raise CorruptRecord(
            f"object {where} is not a cloudlease lease record (it starts {shown!r}); nothing "
            "was overwritten. Move or delete that object, or point the store at a prefix used "
            "only by cloudlease",
            lease=name,
            store=store,
        )
    schema = body.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA:
        raise CorruptRecord(
            f"object {where} has schema {schema!r}, newer than this {package} understands "
            f"({SCHEMA}); upgrade cloudlease on every holder of this store",
            lease=name,
            store=store,
        )
    fields = body.get("record")
    problems = _problems(fields, name)
    if problems or not isinstance(fields, dict):
        raise CorruptRecord(
            f"object {where} holds a broken lease record ({', '.join(problems)}); delete the "
            "object to reset the lease (tokens stay monotonic: a fresh record starts at the "
            "writer's clock)",
            lease=name,
            store=store,
        )
    known = {key: value for key, value in fields.items() if key in _FIELDS}
    return LeaseRecord(**known)


def _problems(fields: Any, name: str) -> list[str]:
    if not isinstance(fields, dict):
        return [f"record={fields!r}"]
    problems = []
    for key, expected in _FIELDS.items():
        if key not in fields:
            if key in LeaseRecord.REQUIRED:
                problems.append(f"{key} missing")
            continue
        value = fields[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"{key}={value!r}")
    if fields.get("name") != name:
        problems.append(f"name={fields.get('name')!r} (object of lease {name!r})")
    return problems


class BucketUrl(Frozen):
    """A parsed ``SCHEME://BUCKET/PREFIX?option=value``: the options given, last one wins."""

    __slots__ = ("bucket", "options", "prefix")
    _fields = ("bucket", "prefix", "options")

    bucket: str
    prefix: str
    options: dict[str, str]

    def __init__(self, bucket: str, prefix: str, options: dict[str, str]) -> None:
        put = _PUT_BUCKET_URL
        put[0](self, bucket)
        put[1](self, prefix)
        put[2](self, options)

    def flag(self, key: str, url: str) -> bool | None:
        """The boolean option ``key`` (true/false, 1/0, yes/no), None when absent."""
        if key not in self.options:
            return None
        value = self.options[key].lower()
        if value not in _TRUE | _FALSE:
            raise ConfigError(
                f"{key}={self.options[key]!r} in {url!r} must be true or false", store=url
            )
        return value in _TRUE


_PUT_BUCKET_URL = setters(BucketUrl)


def parse_bucket_url(
    url: str, *, scheme: str, service: str, known: Sequence[str], usage: str, example: str
) -> BucketUrl:
    """Split ``url``; ConfigError (before any request) for another scheme, no bucket, a
    fragment, an unknown option or an empty value. ``usage`` is the URL's shape as shown in
    the message, ``example`` one option set right (``?region=eu-west-1``)."""
    from urllib.parse import parse_qs, unquote, urlsplit  # on first open, not at import

    parts = urlsplit(url)
    if parts.scheme.lower() != scheme or not parts.netloc or parts.fragment:
        raise ConfigError(f"cannot parse {service} store URL {url!r}: use {usage}", store=url)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} in {service} store URL {url!r}; "
            f"known: {', '.join(known)}",
            store=url,
        )
    given = {key: values[-1] for key, values in query.items()}
    empty = sorted(key for key, value in given.items() if not value)
    if empty:
        raise ConfigError(
            f"empty value for {', '.join(empty)} in {url!r}; give a value (e.g. {example}) or "
            "leave the option out",
            store=url,
        )
    return BucketUrl(parts.netloc, unquote(parts.path), given)


class Place:
    """Where an object store points, to say so in every error message (set once, never changed)."""

    __slots__ = ("bucket", "prefix", "url")

    def __init__(self, bucket: str, prefix: str, url: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.url = url

    @property
    def where(self) -> str:
        return f"bucket {self.bucket!r} (prefix {self.prefix!r})"

    def no_bucket(self, *, lease: str | None, module: str) -> StoreMisconfigured:
        """The error for a bucket that does not exist, naming both ways to create it."""
        return StoreMisconfigured(
            f"{self.where} does not exist; create it with `cloudlease init --create-bucket "
            f"--store {self.url}` or the Terraform module {module}",
            lease=lease,
            store=self.url,
        )


def shorten(message: object, limit: int = 240) -> str:
    """A service's error message on one line, cut to ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
