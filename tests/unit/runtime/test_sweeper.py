"""runtime/wallet_runtime/sweeper.py: the local schedule of the hold sweeper."""

import threading

from wallet_runtime.sweeper import SweepLoop

SWEEPS_AWAITED = 3
WAIT_TIMEOUT_S = 10.0


class Sweeps:
    """A sweep that fails on its first call, then counts; set once enough have run."""

    def __init__(self) -> None:
        self.calls = 0
        self.enough = threading.Event()

    def __call__(self) -> int:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the database went away mid-sweep")
        if self.calls >= SWEEPS_AWAITED:
            self.enough.set()
        return 1


def test_the_loop_sweeps_again_after_a_failed_sweep_and_stops_when_asked() -> None:
    sweeps = Sweeps()
    loop = SweepLoop(sweeps, interval_s=0.001)
    loop.start()
    try:
        assert sweeps.enough.wait(WAIT_TIMEOUT_S), "the loop died after its first sweep failed"
    finally:
        loop.stop()
    stopped_at = sweeps.calls
    assert not loop._thread.is_alive()
    assert sweeps.calls == stopped_at


def test_a_loop_stopped_before_its_first_tick_never_sweeps() -> None:
    sweeps = Sweeps()
    loop = SweepLoop(sweeps, interval_s=3600)
    loop.start()
    loop.stop()
    assert sweeps.calls == 0
