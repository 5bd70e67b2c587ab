"""The ``cloudlease`` command: run | check | status | release | steal | purge | init | demo."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cloudlease.errors import (
    CloudLeaseError,
    ConfigError,
    LeaseHeld,
    StealConflict,
    StoreMisconfigured,
    StoreUnavailable,
)

T = TypeVar("T")
EX_TEMPFAIL = 75
EX_LEASE_LOST = 76  # = cloudlease.supervise.EX_LEASE_LOST (not imported: keep `status` light)
EX_UNAVAILABLE = 69
EX_USAGE = 2
EXIT_CODES = f"""exit codes:
  0        success (check: the lease is held for --min-remaining seconds)
  N        run: the command's own exit code (128+N when signal N ended it)
  {EX_TEMPFAIL}       run: the lease is held elsewhere (--skip-exit-code changes it);
           purge: refused, nothing deleted (held, or granted too recently: retry later);
           steal: the lease changed during the steal, nothing written (look, then retry)
  {EX_LEASE_LOST}       run: the lease was lost while the command ran, and the command was stopped;
           check: the lease is not held (or not for --min-remaining seconds)
  127      run: the command could not be started
  {EX_USAGE}        bad input: a usage error, refused before any request
  {EX_UNAVAILABLE}       the store cannot serve (unreachable, throttled, missing table, no access)
  1        any other error"""


class _Version(argparse.Action):
    """``--version``: found only when asked (reading installed metadata costs an import)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from cloudlease._versions import versions

        print(versions())
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudlease",
        description="Elect a single runner on a store you already have.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show the versions of cloudlease and its stores"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_store(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--store",
            default=os.environ.get("CLOUDLEASE_STORE"),
            help="store URL (default: $CLOUDLEASE_STORE), e.g. sqlite:///leases.db",
        )

    def lease_command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        """A command on one lease: --store, --lease, and the exit codes in its --help."""
        layout = argparse.RawDescriptionHelpFormatter
        sub = commands.add_parser(
            name, help=summary, description=description, epilog=EXIT_CODES, formatter_class=layout
        )
        with_store(sub)
        sub.add_argument("--lease", required=True, help="lease name")
        return sub

    run = lease_command(
        "run",
        "run a command only while holding a lease (like flock(1) for the cloud)",
        "Run CMD while holding the lease; renew while it runs. CMD runs in its own "
        "process group, which is stopped as a whole (TERM, then KILL before the lease's local "
        "deadline) when the lease is lost or this supervisor dies. The child finds "
        "CLOUDLEASE_LEASE (the record held: NAME, or NAME.slot-K with --slots), "
        "CLOUDLEASE_SLOT (0..N-1), CLOUDLEASE_HOLDER, CLOUDLEASE_TOKEN (fence writes with it), "
        "CLOUDLEASE_DEADLINE (epoch ms, the first grant's local deadline) and "
        "CLOUDLEASE_DEADLINE_FILE (rewritten on every renewal; `cloudlease check` reads it) in "
        "its environment.",
    )
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
    run.add_argument(
        "--slots",
        type=int,
        default=1,
        metavar="N",
        help="a semaphore: run while holding one of N slots, so at most N commands run at once "
        "(1: a plain lease)",
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
        help="seconds between SIGTERM and SIGKILL when the command must stop (10); never "
        "past the lease's local deadline",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")

    check = commands.add_parser(
        "check",
        help=f"inside `cloudlease run`: exit 0 while the lease is held, {EX_LEASE_LOST} if not",
        description="For a command run by `cloudlease run`: is the lease still held (for at "
        "least --min-remaining seconds)? Reads $CLOUDLEASE_DEADLINE_FILE, which the supervisor "
        "rewrites on every renewal; a frozen or dead supervisor stops rewriting it, so the "
        "check fails once the last deadline passes. Prints the token and the seconds left.",
    )
    check.add_argument(
        "--min-remaining", type=float, default=0.0, metavar="S", help="seconds needed (0)"
    )
    check.add_argument("--file", help="the deadline file (default: $CLOUDLEASE_DEADLINE_FILE)")

    status = commands.add_parser(
        "status",
        help="show who holds which lease (--watch: keep refreshing)",
        description="List every lease record on the store (holder, token, held for, expires "
        "in, transitions, done tick, metadata), or one with --lease. --watch lists again every "
        "--interval seconds and marks what changed since the previous listing.",
    )
    with_store(status)
    status.add_argument("--lease", help="only this lease (a semaphore: its slots)")
    status.add_argument(
        "--json", action="store_true", help="print JSON (with --watch: one object per line)"
    )
    status.add_argument("--watch", action="store_true", help="refresh until interrupted")
    status.add_argument(
        "--interval", type=float, metavar="S", help="with --watch: seconds between listings (2)"
    )
    status.add_argument(
        "--count", type=int, metavar="N", help="with --watch: stop after N listings"
    )

    release = commands.add_parser("release", help="clear a stuck lease (keeps the token)")
    with_store(release)
    release.add_argument("--lease", required=True)
    release.add_argument(
        "--force", action="store_true", help="required: confirms clearing another holder"
    )

    steal = lease_command(
        "steal",
        "take a lease over at once with a greater token (old holder cut off)",
        "Take the lease at once, from a live holder too, with a greater fencing "
        "token: the old holder's renewal fails and it steps down, and its fenced writes are "
        "refused. Then release it (the lease is free for the next contender), or with --hold "
        "keep it, unrenewed, until --ttl runs out. Exit 75 if the lease changed during the "
        "steal (nothing written).",
    )
    steal.add_argument(
        "--ttl", type=float, default=30.0, help="with --hold: how long it is kept, seconds (30)"
    )
    steal.add_argument(
        "--hold", action="store_true", help="keep the lease until --ttl runs out (not renewed)"
    )
    steal.add_argument("--holder", help="holder id (default: steal:host:pid:random)")
    steal.add_argument("--metadata", help="a small JSON object stored with the lease")

    purge = lease_command(
        "purge",
        "delete a free lease record (only when its token stays monotonic)",
        "Delete the lease's record, only if it is free and was last granted more than 2 x the "
        "clock-skew bound + --in-flight seconds ago, so that a record created afresh gets a "
        "greater fencing token (docs/tokens.md). Refused otherwise (exit 75).",
    )
    purge.add_argument(
        "--in-flight",
        type=float,
        default=60.0,
        help="seconds an acquire may take from reading its clock to landing (default 60)",
    )

    init = commands.add_parser("init", help="create what the store needs (idempotent)")
    with_store(init)
    init.add_argument(
        "--create-bucket",
        action="store_true",
        help="s3:// and gs:// stores: create the bucket if it is missing (default: only check)",
    )

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
        handler = {
            "run": _run,
            "check": _check,
            "status": _status,
            "release": _release,
            "steal": _steal,
            "purge": _purge,
            "init": _init,
        }
        return handler[args.command](args)
    except ConfigError as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        return EX_USAGE
    except (StoreUnavailable, StoreMisconfigured) as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except CloudLeaseError as exc:
        print(f"cloudlease: {exc}", file=sys.stderr)
        if _retry_later(exc):
            return EX_TEMPFAIL
        return 1


def _retry_later(exc: CloudLeaseError) -> bool:
    """A refusal that wrote nothing and may pass later: steal's conflict, purge's refusal."""
    from cloudlease.purge import PurgeRefused  # on the error path only: keep `status` light

    return isinstance(exc, (StealConflict, PurgeRefused))


def _open(args: argparse.Namespace) -> Any:
    from cloudlease.urls import open_store

    if not args.store:
        raise ConfigError("no store: pass --store URL or set CLOUDLEASE_STORE")
    return open_store(args.store)


def _on_store(args: argparse.Namespace, action: Callable[[Any], T]) -> tuple[Any, T]:
    """Open the store, run ``action(store)``, close it: (store, what the action returned)."""
    store = _open(args)
    try:
        return store, action(store)
    finally:
        store.close()


def _no_record(args: argparse.Namespace, store: Any, verb: str) -> None:
    print(f"lease {args.lease!r} has no record in {store.url}; nothing to {verb}")


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
    from cloudlease._validation import to_seconds
    from cloudlease.keeper import hold
    from cloudlease.supervise import supervise

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise ConfigError("no command given: cloudlease run --lease NAME -- CMD ARGS...")
    store = _open(args)
    try:
        where = {"lease": args.lease, "store": store.url}
        grace = to_seconds(args.grace, what="--grace", allow_zero=True, **where)
        if not 0 <= args.skip_exit_code <= 255:
            raise ConfigError(
                f"--skip-exit-code {args.skip_exit_code} is not an exit code: use 0-255",
                **where,
            )
        if shutil.which(cmd[0]) is None:
            raise ConfigError(
                f"cannot run {cmd[0]!r}: no such executable file (give a path, or a name on "
                "PATH, with execute permission); nothing was acquired",
                **where,
            )
        held = hold(  # checks name, ttl (bounds per store), wait, holder: before any request
            store,
            args.lease,
            ttl=args.ttl,
            wait=args.wait,
            holder=args.holder,
            metadata=_metadata(args.metadata, args.lease, store.url),
            slots=args.slots,
        )
        with held:
            env = dict(
                os.environ,
                CLOUDLEASE_LEASE=held.lease_name,
                CLOUDLEASE_SLOT=str(held.slot),
                CLOUDLEASE_HOLDER=held.holder,
                CLOUDLEASE_TOKEN=str(held.token),
                CLOUDLEASE_DEADLINE=str(store.clock.wall_ms() + int(held.remaining() * 1000)),
            )
            return supervise(held, cmd, env, grace).code
    except LeaseHeld as exc:
        record = exc.record
        holder = record.holder if record else "someone else"
        print(
            (
                f"cloudlease: lease {args.lease!r} is held by {holder!r}"
                + (f" (token {record.token})" if record else "")
                if args.slots == 1
                else f"cloudlease: semaphore {args.lease!r}: {exc.detail}"
            )
            + f" on {store.url}; not running (exit {args.skip_exit_code})",
            file=sys.stderr,
        )
        return int(args.skip_exit_code)
    finally:
        store.close()


def _check(args: argparse.Namespace) -> int:
    from cloudlease.supervise import DEADLINE_FILE_ENV, read_deadline_file

    path = args.file or os.environ.get(DEADLINE_FILE_ENV)
    if not path:
        raise ConfigError(
            f"no deadline file: run this inside `cloudlease run` (which sets {DEADLINE_FILE_ENV})"
            " or pass --file"
        )
    try:
        state = read_deadline_file(path)
    except (OSError, ValueError) as exc:
        print(f"cloudlease: not held: the supervisor's file is gone ({exc})", file=sys.stderr)
        return EX_LEASE_LOST
    left = (int(str(state.get("deadline_ms", 0))) - time.time() * 1000) / 1000
    lease, token = state.get("lease"), state.get("token")
    if state.get("held") is not True or left <= args.min_remaining:
        why = "lost" if state.get("held") is not True else f"{max(left, 0):.3f}s left"
        print(
            f"cloudlease: lease {lease!r} is not held for {args.min_remaining:g}s more "
            f"(token {token}: {why}); stop acting",
            file=sys.stderr,
        )
        return EX_LEASE_LOST
    print(f"{token} {left:.3f}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from cloudlease import status as listing

    interval, count = _watch_options(args)
    store = _open(args)
    try:
        refreshes = listing.watch(
            store, interval=interval, count=count if args.watch else 1, lease=args.lease
        )
        for refresh in refreshes:
            _show(args, store, refresh)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0


def _watch_options(args: argparse.Namespace) -> tuple[float, int | None]:
    """``--interval`` and ``--count``, refused (before any request) unless they make sense."""
    from cloudlease._validation import to_seconds

    for given, flag in ((args.interval, "--interval"), (args.count, "--count")):
        if given is not None and not args.watch:
            raise ConfigError(f"{flag} applies to --watch only: add --watch or drop {flag}")
    if args.count is not None and args.count < 1:
        raise ConfigError(f"--count must be a number of listings >= 1, got {args.count}")
    interval = 2.0 if args.interval is None else args.interval
    return to_seconds(interval, what="--interval"), args.count


def _show(args: argparse.Namespace, store: Any, refresh: Any) -> None:
    from cloudlease import status as listing

    snapshot = refresh.snapshot
    if args.json:
        if args.watch:
            print(json.dumps(listing.as_json(refresh), separators=(",", ":")), flush=True)
        else:
            print(json.dumps([record.to_json() for record in snapshot.records], indent=2))
        return
    if refresh.number == 1:
        offset = store.clock_offset.current() if hasattr(store, "clock_offset") else None
        if offset is not None:
            print(f"this host's clock vs the store's: {offset}", file=sys.stderr)
    if args.watch:
        if sys.stdout.isatty():
            print("\033[H\033[2J", end="")  # clear the screen, as watch(1) does
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snapshot.at_ms / 1000))
        changed = f", {len(refresh.changes)} changed" if refresh.changes else ""
        print(f"{store.url} at {when} (listing {refresh.number}{changed})")
    if not snapshot.records and not refresh.changes:
        print(f"no leases in {store.url}" + (f" named {args.lease!r}" if args.lease else ""))
    else:
        print("\n".join(listing.table(snapshot, refresh.changes if args.watch else None)))
    if args.watch:
        print(flush=True)


def _release(args: argparse.Namespace) -> int:
    if not args.force:
        raise ConfigError(
            f"release clears lease {args.lease!r} whoever holds it; add --force to confirm"
        )
    store, before = _on_store(args, lambda store: store.force_release(args.lease))
    if before is None:
        _no_record(args, store, "release")
    elif before.holder == "":
        print(f"lease {args.lease!r} was already free (token {before.token})")
    else:
        print(f"released lease {args.lease!r} held by {before.holder!r} (token {before.token})")
    return 0


def _steal(args: argparse.Namespace) -> int:
    from cloudlease.takeover import steal

    def take(store: Any) -> Any:
        metadata = _metadata(args.metadata, args.lease, store.url)
        return steal(
            store, args.lease, ttl=args.ttl, holder=args.holder, metadata=metadata, keep=args.hold
        )

    _, done = _on_store(args, take)  # StealConflict: EX_TEMPFAIL (main)
    grant = done.grant
    print(f"stole lease {args.lease!r}: token {grant.token} for {grant.holder!r}")
    if args.hold:
        print(f"kept until epoch ms {grant.expires_at} (not renewed); earlier tokens are refused")
    elif done.released:
        print("released: free for the next contender; earlier tokens are refused")
    else:
        print("the release did not apply (it lapses at its ttl); earlier tokens are refused")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from cloudlease.purge import purge

    # PurgeRefused: EX_TEMPFAIL (main)
    store, deleted = _on_store(
        args, lambda store: purge(store, args.lease, in_flight=args.in_flight)
    )
    if deleted is None:
        _no_record(args, store, "purge")
    else:
        print(f"purged lease {args.lease!r} (last token {deleted.token}) from {store.url}")
    return 0


def _init(args: argparse.Namespace) -> int:
    def init(store: Any) -> None:
        if not args.create_bucket:
            store.init()
        elif "create_bucket" in inspect.signature(store.init).parameters:
            store.init(create_bucket=True)  # only bucket stores take it (s3://, gs://)
        else:
            raise ConfigError(
                f"--create-bucket applies to s3:// and gs:// stores only; drop it for {store.url}",
                store=store.url,
            )

    store, _ = _on_store(args, init)
    print(f"{store.url} is ready")
    return 0
