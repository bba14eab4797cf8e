"""The work pool behind every ack: bounded, so overload slows acks instead of piling up work."""

from __future__ import annotations

import threading
import time

from bot.app import ListenerPool


def test_a_full_pool_makes_the_next_hand_off_wait_until_a_task_ends():
    pool = ListenerPool(max_workers=1, max_pending=2)
    release = threading.Event()
    done: list[int] = []

    def task(n: int) -> None:
        release.wait(5)
        done.append(n)

    pool.submit(task, 1)  # running
    pool.submit(task, 2)  # queued: the pool is full now
    handed_off = threading.Event()

    def third() -> None:
        pool.submit(task, 3)
        handed_off.set()

    threading.Thread(target=third, daemon=True).start()
    assert not handed_off.wait(0.3)  # the listener waits rather than queueing a third task
    release.set()
    assert handed_off.wait(5)
    assert pool.wait_idle(5)
    assert done == [1, 2, 3]
    pool.shutdown()


def test_a_failing_task_frees_its_place_and_waiting_for_idle_sees_it_end():
    pool = ListenerPool(max_workers=2, max_pending=2)

    def boom() -> None:
        raise RuntimeError("listener work failed")

    for _ in range(5):  # more failures than places: each one gave its place back
        pool.submit(boom)
    started = time.monotonic()
    assert pool.wait_idle(5)
    assert time.monotonic() - started < 5
    pool.shutdown()
