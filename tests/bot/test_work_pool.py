"""The work pool behind every ack: bounded, so overload slows acks instead of piling up work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot.app import ListenerPool

WAIT = 5.0  # seconds: every wait is bounded, so a pool that never frees a place fails, not hangs


def hand_off(pool: ListenerPool, task: Callable[..., Any], *args: Any) -> threading.Event:
    """Submit `task` from a thread of its own, as a listener does; the event is set once the
    pool took it (submit blocks while the pool is full)."""
    taken = threading.Event()

    def submit() -> None:
        pool.submit(task, *args)
        taken.set()

    threading.Thread(target=submit, daemon=True).start()
    return taken


def test_a_full_pool_makes_the_next_hand_off_wait_until_a_task_ends():
    pool = ListenerPool(max_workers=1, max_pending=2)
    release = threading.Event()
    done: list[int] = []

    def task(n: int) -> None:
        release.wait(WAIT)
        done.append(n)

    try:
        assert hand_off(pool, task, 1).wait(WAIT)  # running
        assert hand_off(pool, task, 2).wait(WAIT)  # queued: the pool is full now
        third = hand_off(pool, task, 3)
        assert not third.wait(0.3)  # the listener waits rather than queueing a third task
        release.set()
        assert third.wait(WAIT)
        assert pool.wait_idle(WAIT)
        assert done == [1, 2, 3]
    finally:
        release.set()
        pool.shutdown(wait=False, cancel_futures=True)


def test_a_failing_task_frees_its_place_and_waiting_for_idle_sees_it_end():
    pool = ListenerPool(max_workers=2, max_pending=2)
    ran = threading.Semaphore(0)

    def boom() -> None:
        ran.release()
        raise RuntimeError("listener work failed")

    try:
        for n in range(5):  # more failures than places: each one gave its place back
            assert hand_off(pool, boom).wait(WAIT), f"hand-off {n + 1} never got a place"
        assert pool.wait_idle(WAIT)
        assert all(ran.acquire(timeout=WAIT) for _ in range(5))  # all five ran
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
