"""Azure Blob store: requests per operation, and latency against the same work done by hand.

    .venv/bin/python -m benchmarks.azure_blob [--rounds 200]

Starts Azurite on a free loopback port and runs sections 1 and 2 of the full run
(``benchmarks/operations.py``) for Azure alone. The baseline does the same requests with the
SDK: acquire = get_blob_properties + BlobLeaseClient.acquire (If-Match the ETag) +
set_blob_metadata under the lease; release = set_blob_metadata + release. (The bare
``BlobLeaseClient`` pattern, one request each, is the peer in ``benchmarks/peers.py``.)
``python -m benchmarks`` runs every store and section. Nothing here is asserted.
"""

from benchmarks.operations import main

if __name__ == "__main__":
    main("azure")
