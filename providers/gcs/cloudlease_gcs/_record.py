"""How a lease record is laid out in one Cloud Storage object, and back.

Lease ``NAME`` lives in object ``PREFIX + NAME`` as a small JSON document (``gcloud storage cat
gs://BUCKET/PREFIX/NAME`` shows who leads)::

    {"kind": "cloudlease.lease", "schema": 1,
     "record": {"name": "nightly", "holder": "host:42:ab", "token": ..., "expires_at": ...,
                "acquired_at": ..., "renewed_at": ..., "transitions": 3, "metadata": {}}}

``schema`` is the version of this layout. ``record`` holds every field of ``LeaseRecord``,
whatever they are (the record's fields are read from the dataclass, not listed here), so a
field added to the record is stored without a change to this module. An object without
``kind`` is someone else's file: it is refused (CorruptRecord) and never overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from cloudlease.errors import ConfigError, CorruptRecord
from cloudlease.records import LeaseRecord

KIND = "cloudlease.lease"
#: Version of the object layout above; a newer one is refused by older code.
SCHEMA = 1
DEFAULT_PREFIX = "cloudlease/"
#: Object names stop at 1024 bytes; the longest lease name is 200.
MAX_PREFIX_BYTES = 1024 - 200
#: Prefix segments: characters every Cloud Storage tool and every URL carries unchanged.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")
_FIELDS = {field.name: field for field in dataclasses.fields(LeaseRecord)}
_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "str": (str,), "dict": (dict,)}


def check_prefix(prefix: str, *, store: str) -> str:
    """The object-name prefix, normalised to end with ``/``; ConfigError for what tools mangle.

    ``""`` means the default ``cloudlease/``. Segments use letters, digits and ``. _ = + -``:
    no spaces, ``%``, ``#``, ``?``, quotes, backslashes or control characters, which GCS
    tools, URL encoding and lifecycle filters treat differently.
    """
    if prefix in ("", "/"):
        return DEFAULT_PREFIX
    cleaned = prefix.strip("/")
    segments = cleaned.split("/")
    bad = [s for s in segments if not _SEGMENT.fullmatch(s) or s in {".", ".."}]
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
    body = {"kind": KIND, "schema": SCHEMA, "record": dataclasses.asdict(record)}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode(data: bytes, name: str, *, where: str, store: str) -> LeaseRecord:
    """The record in an object body; CorruptRecord (naming the fix) if cloudlease did not write it.

    ``where`` names the object (``gs://bucket/name``) in the message.
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
            f"object {where} has schema {schema!r}, newer than this cloudlease-gcs understands "
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
    for key, field in _FIELDS.items():
        if key not in fields:
            required = field.default is field.default_factory is dataclasses.MISSING
            if required:
                problems.append(f"{key} missing")
            continue
        expected = _TYPES.get(str(field.type).split("[", 1)[0])
        value = fields[key]
        if expected and (not isinstance(value, expected) or isinstance(value, bool)):
            problems.append(f"{key}={value!r}")
    if fields.get("name") != name:
        problems.append(f"name={fields.get('name')!r} (object of lease {name!r})")
    return problems
