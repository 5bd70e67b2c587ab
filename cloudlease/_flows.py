"""Decisions written once, driven by a thread or by an event loop (sans-IO).

A flow is a generator that decides and yields what it needs done: a ``Call`` (a request, by
method name, to whatever the driver serves: a store's primitives, or a store) or a ``Pause``
(a wait); the driver performs it and sends back the result, or throws the error in. ``run``
drives a flow from sync code, ``run_async`` from a coroutine; the flow is the same, so the sync
and async sides of a store or a Tenure cannot drift apart. Nothing here imports asyncio.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Call ``method(*args)`` on the driver's target; the flow receives what it returns."""

    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` (on the Clock, or the event loop) before going on."""

    seconds: float


Step = Call | Pause
Flow = Generator[Step, Any, T]


class Stepper:
    """Walks a flow: ``step`` is what it waits for (None once done, with ``result`` set)."""

    def __init__(self, flow: Flow[Any]) -> None:
        self._flow = flow
        self.step: Step | None = None
        self.result: Any = None
        self._advance(flow.send, None)

    def send(self, value: Any) -> None:
        self._advance(self._flow.send, value)

    def fail(self, error: BaseException) -> None:
        self._advance(self._flow.throw, error)

    def _advance(self, resume: Callable[[Any], Step], argument: Any) -> None:
        try:
            self.step = resume(argument)
        except StopIteration as done:
            self.step, self.result = None, done.value


def run(flow: Flow[T], perform: Callable[[Step], Any]) -> T:
    """Drive ``flow`` to its end from sync code; ``perform`` does each step."""
    stepper = Stepper(flow)
    while (step := stepper.step) is not None:
        try:
            value = perform(step)
        except BaseException as exc:
            stepper.fail(exc)
            continue
        stepper.send(value)
    result: T = stepper.result
    return result


async def run_async(flow: Flow[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
    """Drive ``flow`` to its end from a coroutine; ``perform`` does each step."""
    stepper = Stepper(flow)
    step = stepper.step
    while step is not None:
        outcome: tuple[bool, Any]
        try:
            outcome = (True, await perform(step))
        except BaseException as exc:  # CancelledError included: the flow sees it
            outcome = (False, exc)
        if outcome[0]:
            stepper.send(outcome[1])
        else:
            stepper.fail(outcome[1])
        step = stepper.step
    result: T = stepper.result
    return result
