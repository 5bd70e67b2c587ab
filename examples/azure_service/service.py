"""A long-running service whose replicas elect one leader on Azure Blob Storage.

Every replica runs a ``LeaderElector`` on the blob lease ``housekeeping``; the leader runs the
housekeeping loop and appends to a shared state blob with ``fenced_update``, which refuses a
write from a replica that lost the lease to a newer one. SIGTERM (a scale-in or a deploy)
resigns: the lease is released at once and another replica takes over within its retry period.
Each event is printed as one JSON line.

Environment: ``CLOUDLEASE_STORE`` (``azblob://ACCOUNT/CONTAINER``), ``REPLICA`` (holder id),
and ``AZURE_STORAGE_CONNECTION_STRING`` or a managed identity.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from typing import Any

from cloudlease import LeaderElector, LeaseLost, open_store
from cloudlease.keeper import HeldLease
from cloudlease_azure_blob import AzureBlobStore, fenced_update


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


def housekeeping(store: AzureBlobStore, lease: HeldLease, stop: threading.Event) -> None:
    """The leader's work: one fenced append to the state blob per second."""
    state = store.container_client.get_blob_client("housekeeping/state.log")
    while not stop.is_set() and lease.is_valid():
        line = f"{lease.holder} {lease.token} {time.time():.3f}\n".encode()

        def append(old: bytes | None, line: bytes = line) -> bytes:
            return (old or b"") + line

        try:
            fenced_update(state, lease, append)
            emit("work", holder=lease.holder, token=lease.token)
        except LeaseLost as exc:
            emit("refused", holder=lease.holder, token=lease.token, reason=exc.detail)
            return
        stop.wait(1.0)


def main() -> int:
    store = open_store()
    assert isinstance(store, AzureBlobStore), "CLOUDLEASE_STORE must be an azblob:// URL"
    replica = os.environ.get("REPLICA", socket.gethostname())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_elected(lease: HeldLease) -> None:
        emit("elected", holder=replica, token=lease.token)
        threading.Thread(target=housekeeping, args=(store, lease, stop), daemon=True).start()

    elector = LeaderElector(
        store,
        "housekeeping",
        ttl=15,  # Azure's shortest blob lease
        retry_period=1.0,
        holder=replica,
        on_elected=on_elected,
        on_lost=lambda lease: emit("stepped-down", holder=replica, token=lease.token),
        on_leader_changed=lambda leader: emit("leader", holder=replica, leader=leader),
    ).start()
    emit("started", holder=replica)
    stop.wait()
    elector.resign()
    emit("stopped", holder=replica)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
