"""The hold sweeper: asks, through the log, for the expiry of every hold past its time.

The consumer already expires a wallet's due holds before each of its
commands; the sweeper is for a wallet with no other traffic. It appends the
very ExpireHold the consumer would make, under the hold's one expiry id
(`expiry_command_id`), keyed by the hold's wallet so it keeps its place among
the wallet's commands. However many sweepers ask, and however often, the
consumer applies a hold's expiry once, so duplicates cost a replay check and
nothing else.

Still, a sweeper does not ask again for a hold it asked for moments ago: it
remembers what it appended while the hold stays due, and asks again only
after RESWEEP_AFTER (say, a consumer whose clock was behind, which found the
hold not yet due and did nothing). What it remembers is a subset of the last
due holds it read, so it stays bounded, and the next read reaches past them
to holds not yet asked for.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from wallet.domain.codec import encode_envelope
from wallet.domain.errors import Unavailable
from wallet.domain.holds import Hold, expiry_envelope
from wallet.service_layer.ports import CommandLog, LedgerStore, LogFull

SWEEP_BATCH_MAX = 500  # new expiries appended per sweep
REMEMBERED_MAX = 10 * SWEEP_BATCH_MAX  # appended holds remembered, so a read stays this small
RESWEEP_AFTER = timedelta(seconds=5)  # a hold still due this long after its expiry was asked

log = logging.getLogger("wallet.expiry")


class HoldSweeper:
    def __init__(self, store: LedgerStore, command_log: CommandLog) -> None:
        self._store, self._log = store, command_log
        self._asked: dict[str, datetime] = {}  # hold id -> when its expiry was appended

    def sweep(self, now: datetime) -> int:
        """Appends the expiry of up to SWEEP_BATCH_MAX due holds not asked for lately, and
        returns how many. An outage or a full log ends the sweep early, logged: the holds
        are still due at the next."""
        try:
            due = self._store.due_holds(now, len(self._asked) + SWEEP_BATCH_MAX)
        except Unavailable as error:
            log.warning("due holds not read; sweeping again later",
                        extra={"reason": error.message})
            return 0
        still_due = {hold.id for hold in due}
        self._asked = {i: at for i, at in self._asked.items() if i in still_due}
        room = min(SWEEP_BATCH_MAX, REMEMBERED_MAX - len(self._asked))
        fresh = [hold for hold in due if self._askable(hold, now)][: max(room, 0)]
        return self._append(fresh, now)

    def _askable(self, hold: Hold, now: datetime) -> bool:
        asked = self._asked.get(hold.id)
        return asked is None or now - asked >= RESWEEP_AFTER

    def _append(self, holds: list[Hold], now: datetime) -> int:
        for appended, hold in enumerate(holds):
            try:
                self._log.append(hold.user_id, encode_envelope(expiry_envelope(hold)))
            except (LogFull, Unavailable) as error:
                log.warning("expiries not appended; sweeping again later", extra={
                    "appended": appended, "left": len(holds) - appended, "reason": str(error)})
                return appended
            self._asked[hold.id] = now
        return len(holds)


def sweep_batches(sweeper: HoldSweeper, clock: Callable[[], datetime], batches_max: int) -> int:
    """Sweeps until a sweep finds less than a full batch, at most `batches_max` times: what a
    schedule that runs once a minute does, to keep up with more than one batch a minute."""
    assert batches_max >= 1, "a sweep runs at least once"
    total = 0
    for _ in range(batches_max):
        appended = sweeper.sweep(clock())
        total += appended
        if appended < SWEEP_BATCH_MAX:
            break
    return total
