"""`fake_stripe.edge._within`: a body message awaited until the body's deadline, with a timer
only when the message has to be waited for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fake_stripe.edge import _within

MESSAGE = {"type": "http.request", "body": b"x", "more_body": False}


async def ready() -> dict[str, Any]:
    return MESSAGE


def test_a_message_already_there_is_taken_at_once() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        return await _within(ready(), loop.time() - 1)  # a deadline long past: no timer asked

    assert asyncio.run(main()) is MESSAGE


def test_a_message_that_has_to_wait_arrives_before_its_deadline() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[dict[str, Any]] = loop.create_future()

        async def later() -> dict[str, Any]:
            await asyncio.sleep(0)  # a bare yield first, then a future
            return await arrived

        loop.call_later(0.05, arrived.set_result, MESSAGE)
        return await _within(later(), loop.time() + 5)

    assert asyncio.run(main()) is MESSAGE


def test_a_message_that_does_not_come_is_given_up_at_the_deadline() -> None:
    closed = []

    async def never() -> dict[str, Any]:
        try:
            await asyncio.Event().wait()
        finally:
            closed.append(True)
        raise AssertionError("unreachable")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await _within(never(), started + 0.1)
        assert 0.09 < loop.time() - started < 2

    asyncio.run(main())
    assert closed == [True]


def test_a_cancelled_request_stays_cancelled() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(_within(asyncio.Event().wait(), loop.time() + 30))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_an_error_of_the_receive_goes_through() -> None:
    async def broken() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        raise OSError("gone")

    async def main() -> None:
        with pytest.raises(OSError, match="gone"):
            await _within(broken(), asyncio.get_running_loop().time() + 5)

    asyncio.run(main())


def test_an_awaitable_that_is_not_a_coroutine_is_bounded_too() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        with pytest.raises(TimeoutError):
            await _within(future, loop.time() + 0.05)
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        done.set_result(MESSAGE)
        assert await _within(done, loop.time() + 5) is MESSAGE

    asyncio.run(main())
