"""The Cloud Storage object layout of a lease record: ``cloudlease.stores.objects``."""

from cloudlease.stores.objects import DEFAULT_PREFIX, KIND, SCHEMA, check_prefix, decode, encode

__all__ = ["DEFAULT_PREFIX", "KIND", "SCHEMA", "check_prefix", "decode", "encode"]
