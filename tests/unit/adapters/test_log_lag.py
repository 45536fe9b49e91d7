"""The in-process log's lag: records appended but not yet committed, per partition."""

import asyncio

from wallet.adapters.inprocess_log import InProcessLog
from wallet.service_layer.waiters import OutcomeWaiters


def test_lag_counts_what_is_appended_and_not_yet_committed_per_partition() -> None:
    log = InProcessLog(partitions=2, depth_max=100)
    assert log.lag() == {0: 0, 1: 0}
    keys = [key for key in ("a", "b", "c", "d", "e") if log.partition_of(key) == 0][:2]
    for key in keys:
        log.append(key, b"x")
    assert log.lag() == {0: len(keys), 1: 0}
    polled = log.poll(records_max=1, timeout_ms=0)
    assert log.lag()[0] == len(keys)  # read is not applied: it still lags until committed
    log.commit(polled)
    assert log.lag()[0] == len(keys) - 1


def test_waiters_say_how_many_are_in_flight() -> None:
    async def count() -> None:  # a waiter is a future: it is made on a running loop
        waiters = OutcomeWaiters(10)
        first = waiters.register("c-1", "h", "alice")
        waiters.register("c-2", "h", "bob")
        assert waiters.in_flight() == 2
        waiters.release(first)
        assert waiters.in_flight() == 1

    asyncio.run(count())
