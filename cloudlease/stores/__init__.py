"""Embedded stores: ``memory://`` (one process) and ``sqlite:///PATH`` (one host)."""
