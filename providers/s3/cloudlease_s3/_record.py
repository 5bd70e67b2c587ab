"""The S3 object layout of a lease record: ``cloudlease.stores.objects`` (shared with GCS)."""

from cloudlease.stores.objects import DEFAULT_PREFIX, KIND, SCHEMA, check_prefix, decode, encode

__all__ = ["DEFAULT_PREFIX", "KIND", "SCHEMA", "check_prefix", "decode", "encode"]
