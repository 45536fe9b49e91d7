"""The hold sweeper's schedule, locally: a sweep every HOLD_SWEEP_INTERVAL_S, on a thread.

On AWS a schedule invokes functions/hold_expiry once a minute; a local
consuming process (`wallet serve`, or its consumer role in the split
topology) sweeps every second instead, on a thread of its own, so the event
loop never waits on the store or the log. A sweep that fails is logged and
the next one tries again: due holds stay due until their expiry applies.
"""

import logging
import threading
from collections.abc import Callable

HOLD_SWEEP_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 5.0  # a sweep appends at most one batch: it ends well within this

log = logging.getLogger("wallet.sweeper")


class SweepLoop:
    def __init__(self, sweep: Callable[[], int],
                 interval_s: float = HOLD_SWEEP_INTERVAL_S) -> None:
        self._sweep, self._interval_s = sweep, interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hold-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                appended = self._sweep()
            except Exception:  # a bug or an outage the sweeper did not name: never the end
                log.exception("hold sweep failed; sweeping again next tick")
                continue
            if appended:
                log.info("hold expiries appended", extra={"appended": appended})
