"""The moto servers the DynamoDB tests talk to, run as subprocesses on loopback.

``python -m tests.dynamodb.moto_server PORT`` runs moto's own ``ThreadedMotoServer``.
``--locked`` serves moto's WSGI app behind one global lock instead: moto is not atomic under
concurrent requests (racing conditional UpdateItems get duplicate grants), so every test where
requests race uses the locked server, or it would report moto's split brain as ours.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def locked(app: WSGIApp) -> WSGIApp:
    """``app`` with every request (body included) served under one lock."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--locked", action="store_true")
    args = parser.parse_args()
    if args.locked:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = locked(DomainDispatcherApplication(create_backend_app))
        server = make_server(
            "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        server.serve_forever()
    else:
        from moto.server import ThreadedMotoServer

        ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False).start()
        signal.pause()


if __name__ == "__main__":
    main()
