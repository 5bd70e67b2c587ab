"""The ``cloudlease`` command: run | status | release | init | demo.

Exit codes: the child's code for ``run`` (128+N when a signal N ended it), 75 (EX_TEMPFAIL)
when the lease is held elsewhere, 2 for bad input, 69 (EX_UNAVAILABLE) when the store cannot
serve, 1 for other errors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from cloudlease.errors import (
    CloudLeaseError,
    ConfigError,
    LeaseHeld,
    StoreMisconfigured,
    StoreUnavailable,
)
from cloudlease.lease import LeaseRecord

EX_TEMPFAIL = 75
EX_UNAVAILABLE = 69
EX_USAGE = 2
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudlease",
        description="Elect a single runner on a store you already have.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_store(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--store",
            default=os.environ.get("CLOUDLEASE_STORE"),
            help="store URL (default: $CLOUDLEASE_STORE), e.g. sqlite:///leases.db",
        )

    run = commands.add_parser(
        "run",
        help="run a command only while holding a lease (like flock(1) for the cloud)",
        description="Run CMD while holding the lease; renew while it runs; stop it if the "
        "lease is lost. The child finds CLOUDLEASE_LEASE, CLOUDLEASE_HOLDER, CLOUDLEASE_TOKEN "
        "and CLOUDLEASE_DEADLINE (epoch ms, of the first grant) in its environment.",
    )
    with_store(run)
    run.add_argument("--lease", required=True, help="lease name")
    run.add_argument("--ttl", type=float, default=30.0, help="lease duration, seconds (30)")
    run.add_argument(
        "--wait",
        nargs="?",
        type=float,
        const=float("inf"),
        default=None,
        metavar="S",
        help="wait for the lease (up to S seconds, forever without S) instead of exiting 75",
    )
    run.add_argument("--holder", help="holder id (default: host:pid:random)")
    run.add_argument("--metadata", help="a small JSON object stored with the lease")
    run.add_argument(
        "--skip-exit-code",
        type=int,
        default=EX_TEMPFAIL,
        metavar="N",
        help=f"exit code when the lease is held elsewhere ({EX_TEMPFAIL})",
    )
    run.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds between SIGTERM and SIGKILL when the lease is lost (10)",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")

    status = commands.add_parser("status", help="show who holds which lease")
    with_store(status)
    status.add_argument("--lease", help="only this lease")
    status.add_argument("--json", action="store_true", help="print JSON")

    release = commands.add_parser("release", help="clear a stuck lease (keeps the token)")
    with_store(release)
    release.add_argument("--lease", required=True)
    release.add_argument(
        "--force", action="store_true", help="required: confirms clearing another holder"
    )

    init = commands.add_parser("init", help="create what the store needs (idempotent)")
    with_store(init)

    demo = commands.add_parser("demo", help="watch an election and a failover on SQLite")
    demo.add_argument("--workers", type=int, default=3)
    demo.add_argument("--ttl", type=float, default=2.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from cloudlease.demo import run_demo

            return run_demo(workers=args.workers, ttl=args.ttl)
        handler = {"run": _run, "status": _status, "release": _release, "init": _init}
        return handler[args.command](args)
    except ConfigError as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        return EX_USAGE
    except (StoreUnavailable, StoreMisconfigured) as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except CloudLeaseError as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        return 1


def _open(args: argparse.Namespace) -> Any:
    from cloudlease.urls import open_store

    if not args.store:
        raise ConfigError("no store: pass --store URL or set CLOUDLEASE_STORE")
    return open_store(args.store)


def _metadata(text: str | None, lease: str, store: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"--metadata is not valid JSON ({exc}); pass an object", lease=lease, store=store
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            '--metadata must be a JSON object, e.g. \'{"job": "report"}\'', lease=lease, store=store
        )
    return value


def _run(args: argparse.Namespace) -> int:
    from cloudlease.keeper import hold

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise ConfigError("no command given: cloudlease run --lease NAME -- CMD ARGS...")
    if args.grace < 0:
        raise ConfigError(f"--grace must be >= 0 seconds, got {args.grace}")
    store = _open(args)
    try:
        with hold(
            store,
            args.lease,
            ttl=args.ttl,
            wait=args.wait,
            holder=args.holder,
            metadata=_metadata(args.metadata, args.lease, store.url),
        ) as held:
            deadline_ms = store.clock.wall_ms() + int(held.remaining() * 1000)
            env = dict(
                os.environ,
                CLOUDLEASE_LEASE=held.name,
                CLOUDLEASE_HOLDER=held.holder,
                CLOUDLEASE_TOKEN=str(held.token),
                CLOUDLEASE_DEADLINE=str(deadline_ms),
            )
            return _supervise(cmd, env, held.lost, args.grace, held)
    except LeaseHeld as exc:
        record = exc.record
        holder = record.holder if record else "someone else"
        print(
            f"cloudlease: lease {args.lease!r} is held by {holder!r}"
            + (f" (token {record.token})" if record else "")
            + f" on {store.url}; not running (exit {args.skip_exit_code})",
            file=sys.stderr,
        )
        return int(args.skip_exit_code)
    finally:
        store.close()


def _supervise(
    cmd: list[str], env: dict[str, str], lost: threading.Event, grace: float, held: Any
) -> int:
    """Run the child, forwarding signals; stop it (TERM, then KILL) if the lease is lost."""
    try:
        child = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        raise ConfigError(f"cannot start {cmd[0]!r}: {exc}") from None

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        while child.poll() is None:
            if lost.wait(0.05):
                print(
                    f"cloudlease: lease {held.name!r} lost ({held.reason}); stopping the command",
                    file=sys.stderr,
                )
                child.terminate()
                try:
                    child.wait(grace)
                except subprocess.TimeoutExpired:
                    child.kill()
                break
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _expires_in(record: LeaseRecord, now_ms: int) -> str:
    if record.holder == "":
        return "free"
    left = (record.expires_at - now_ms) / 1000
    return f"{left:.1f}s" if left >= 0 else f"expired {-left:.1f}s ago"


def _status(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        if args.lease:
            record = store.get(args.lease)
            records = [] if record is None else [record]
        else:
            records = store.records()
        now_ms = store.clock.wall_ms()
    finally:
        store.close()
    if args.json:
        print(json.dumps([record.to_json() for record in records], indent=2))
        return 0
    if not records:
        print(f"no leases in {store.url}" + (f" named {args.lease!r}" if args.lease else ""))
        return 0
    rows = [["NAME", "HOLDER", "TOKEN", "EXPIRES IN", "TRANSITIONS", "METADATA"]]
    for record in records:
        rows.append(
            [
                record.name,
                record.holder or "-",
                str(record.token),
                _expires_in(record, now_ms),
                str(record.transitions),
                json.dumps(record.metadata, separators=(",", ":")) if record.metadata else "",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    from cloudlease.ticks import last_successes

    successes = last_successes(records)
    if successes:
        print("\nLAST SUCCESSFUL RUN (once-per-tick jobs)")
        for job, (tick, finished_at) in sorted(successes.items()):
            ago = (now_ms - finished_at) / 1000
            print(f"  {job}: tick {tick}, finished {ago:.1f}s ago (epoch ms {finished_at})")
    return 0


def _release(args: argparse.Namespace) -> int:
    if not args.force:
        raise ConfigError(
            f"release clears lease {args.lease!r} whoever holds it; add --force to confirm"
        )
    store = _open(args)
    try:
        before = store.force_release(args.lease)
    finally:
        store.close()
    if before is None:
        print(f"lease {args.lease!r} has no record in {store.url}; nothing to release")
    elif before.holder == "":
        print(f"lease {args.lease!r} was already free (token {before.token})")
    else:
        print(f"released lease {args.lease!r} held by {before.holder!r} (token {before.token})")
    return 0


def _init(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        store.init()
    finally:
        store.close()
    print(f"{store.url} is ready")
    return 0
