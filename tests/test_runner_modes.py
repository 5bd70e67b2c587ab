"""@single_runner's modes beside once-per-tick: result sharing and no overlap across ticks,
with the exact store requests each costs per invocation (docs/serverless.md quotes them)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cloudlease import ConfigError, LeaseLost, RunSkipped, aws_lambda, current_lease, single_runner
from cloudlease.testing import FakeClock, FaultyStore
from cloudlease.ticks import ResultNotShared
from tests.test_adapters import context, scheduled_event


def by_event(event: dict[str, str]) -> str | None:
    return event.get("time")


# -- result sharing -------------------------------------------------------------------------


def test_a_lambda_duplicate_returns_the_winners_result(
    store: FaultyStore, clock: FakeClock
) -> None:
    @aws_lambda.single_runner(store=store, name="nightly", share_result=True)
    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"rows": 42, "request": ctx.aws_request_id}

    assert handler(scheduled_event(), context(clock, 60, "req-1")) == {
        "rows": 42,
        "request": "req-1",
    }
    assert dict(store.requests) == {"acquire": 2}  # acquire, mark done with the result
    store.requests.clear()
    assert handler(scheduled_event(), context(clock, 60, "req-2")) == {
        "rows": 42,
        "request": "req-1",
    }
    assert dict(store.requests) == {"acquire": 1}  # one refused acquire carries the result


def test_a_result_that_is_not_json_is_a_typed_error_after_the_tick_is_done(
    store: FaultyStore,
) -> None:
    runs: list[int] = []

    @single_runner(store=store, name="nightly", tick=by_event, share_result=True, skipped="dup")
    def job(event: dict[str, str]) -> object:
        runs.append(1)
        return {"when": object()}

    with pytest.raises(ResultNotShared, match="not JSON-serialisable") as caught:
        job({"time": "t1"})
    assert isinstance(caught.value.result, dict)
    assert job({"time": "t1"}) == "dup"  # done, without a result: never run twice
    assert runs == [1]


def test_a_shared_none_is_returned_as_none(store: FaultyStore) -> None:
    @single_runner(store=store, name="nightly", tick=by_event, share_result=True, skipped="dup")
    def job(event: dict[str, str]) -> None:
        return None

    job({"time": "t1"})
    assert job({"time": "t1"}) is None
    record = store.get("nightly:t1")
    assert record is not None and record.metadata["result"] is None


# -- no overlap across ticks ----------------------------------------------------------------


def test_overlap_skip_skips_a_tick_whose_predecessor_runs(store: FaultyStore) -> None:
    inside, go_on = threading.Event(), threading.Event()
    ran: list[str] = []

    @single_runner(store=store, name="sweep", tick=by_event, overlap="skip", skipped="skipped")
    def job(event: dict[str, str]) -> str:
        ran.append(event["time"])
        if event["time"] == "t1":
            inside.set()
            go_on.wait(10)
        return "ran"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(job({"time": "t1"})))
    first.start()
    assert inside.wait(10)
    store.requests.clear()
    assert job({"time": "t2"}) == "skipped"
    # tick acquired, job lease refused, tick let go (not done: a later delivery may run it)
    assert dict(store.requests) == {"acquire": 2, "release": 1}
    go_on.set()
    first.join(10)
    assert answers == ["ran"] and ran == ["t1"]
    assert job({"time": "t2"}) == "ran"


def test_overlap_wait_runs_the_next_tick_once_its_predecessor_ends(
    store: FaultyStore, clock: FakeClock
) -> None:
    inside, go_on = threading.Event(), threading.Event()
    order: list[str] = []

    @single_runner(store=store, name="sweep", tick=by_event, overlap="wait", overlap_wait=120)
    def job(event: dict[str, str]) -> str:
        order.append(f"start {event['time']}")
        if event["time"] == "t1":
            inside.set()
            go_on.wait(10)
        order.append(f"end {event['time']}")
        return current_lease().name

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(job({"time": "t1"})))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=lambda: answers.append(job({"time": "t2"})))
    second.start()
    clock.wait_for_sleepers(2)  # the renewal scheduler (t1's two leases, t2's tick), t2 waiting
    go_on.set()
    first.join(10)
    clock.advance(25)  # t2's next attempt finds the job's lease free
    second.join(10)
    assert order == ["start t1", "end t1", "start t2", "end t2"]
    assert answers == ["sweep", "sweep"]  # current_lease() is the job's lease under overlap


def test_overlap_costs_two_more_requests_per_run(store: FaultyStore) -> None:
    tokens: list[int] = []

    @single_runner(store=store, name="sweep", tick=by_event, overlap="skip")
    def job(event: dict[str, str]) -> None:
        tokens.append(current_lease().token)

    job({"time": "t1"})
    # tick acquire, job acquire, mark the tick done, release the job's lease
    assert dict(store.requests) == {"acquire": 3, "release": 1}
    store.requests.clear()
    job({"time": "t1"})
    assert dict(store.requests) == {"acquire": 1}  # a duplicate of a done tick: as before
    job({"time": "t2"})
    assert tokens[1] > tokens[0]  # the job's lease: one token sequence across ticks
    record = store.get("sweep")
    assert record is not None and record.holder == "" and record.metadata["tick"] == "t2"


def test_overlap_skip_with_raise_on_skip_names_the_reason(store: FaultyStore) -> None:
    store.acquire("sweep", "previous-run", 60, {"tick": "t0"})

    @single_runner(store=store, name="sweep", tick=by_event, overlap="skip", raise_on_skip=True)
    def job(event: dict[str, str]) -> None:
        pytest.fail("must not run")

    with pytest.raises(RunSkipped, match="previous run still runs") as caught:
        job({"time": "t1"})
    assert caught.value.reason == "overlap"
    record = store.get("sweep:t1")
    assert record is not None and record.holder == ""


def test_losing_the_job_lease_ends_the_run_and_is_raised(
    store: FaultyStore, clock: FakeClock
) -> None:
    @single_runner(store=store, name="sweep", tick=by_event, overlap="skip", ttl=9)
    def job(event: dict[str, str]) -> str:
        lease = current_lease()
        store.force_release("sweep")
        store.acquire("sweep", "intruder", 60)
        clock.wait_for_sleepers(1)  # the renewal scheduler, serving the tick's and the job's
        clock.advance(3)
        assert lease.lost.wait(5)
        return "finished anyway"

    with pytest.raises(LeaseLost, match="lost while the function ran"):
        job({"time": "t1"})
    record = store.get("sweep:t1")
    assert record is not None and not record.metadata.get("done")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"overlap": "queue"}, "overlap must be one of"),
        ({"overlap": "skip", "renewal": "manual"}, "needs renewal='background'"),
        ({"overlap": "wait", "overlap_wait": -1}, "overlap_wait"),
    ],
)
def test_bad_overlap_options_are_refused_at_decoration(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        single_runner(**options)
