"""One contender process: hold the lease a few times, write fenced lines to a sink blob.

``python -m tests.azure_blob.contender CONTAINER HOLDER ROUNDS LOG`` with
AZURE_STORAGE_CONNECTION_STRING set. Each holding appends ``token holder`` to the sink blob
through ``fenced_update`` and logs its validity interval on ``time.monotonic()`` as JSON.
"""

from __future__ import annotations

import json
import sys
import time

from cloudlease.keeper import hold
from cloudlease.urls import open_store
from cloudlease_azure_blob import AzureBlobStore, fenced_update

SINK = "sink/log"


def main(container: str, holder: str, rounds: int, log_path: str) -> None:
    store = open_store(f"azblob://devstoreaccount1/{container}")
    assert isinstance(store, AzureBlobStore)
    sink = store.container_client.get_blob_client(SINK)
    with open(log_path, "a") as log:
        for _ in range(rounds):
            with hold(store, "job", ttl=15, wait=120, holder=holder) as held:
                start = time.monotonic()
                line = f"{held.token} {holder}\n".encode()

                def append(current: bytes | None, line: bytes = line) -> bytes:
                    return (current or b"") + line

                for _ in range(2):
                    fenced_update(sink, held, append)
                    time.sleep(0.05)
                held.ensure()
                end = time.monotonic()
                entry = {"holder": holder, "token": held.token, "start": start, "end": end}
                log.write(json.dumps(entry) + "\n")
                log.flush()
            time.sleep(0.1)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
