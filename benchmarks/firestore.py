"""Firestore store: requests per operation, and latency against the same work done by hand.

    .venv/bin/python -m benchmarks.firestore [--rounds 200]

Starts Google's Firestore emulator on a free loopback port and runs sections 1 and 2 of the
full run (``benchmarks/operations.py``) for Firestore alone: the baseline is a
``DocumentReference.get()`` then ``create()`` / ``update()`` with an update_time precondition
for acquire (the same two requests), writes with an update_time precondition for renew and
release, ``DocumentReference.get()`` for get.
``python -m benchmarks`` runs every store and section. Nothing here is asserted.
"""

from benchmarks.operations import main

if __name__ == "__main__":
    main("firestore")
