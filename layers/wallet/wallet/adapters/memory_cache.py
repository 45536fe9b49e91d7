"""An in-process balance cache with generation checks.

Each wallet has a generation that every invalidation bumps. A reader who
missed takes the generation first, reads the store, and may only fill the
cache if nothing was invalidated meanwhile; that is what keeps a slow reader
from writing back a balance older than a 201 someone else already saw.
"""

import threading
from collections.abc import Collection, Mapping

from wallet.service_layer.ports import BalanceCache, CachedBalances

ENTRIES_MAX = 100_000
_EPOCH_SHIFT = 40  # generations below 2**40 per wallet per epoch; an epoch ends on overflow


class MemoryBalanceCache(BalanceCache):
    def __init__(self, entries_max: int = ENTRIES_MAX) -> None:
        self._entries_max = entries_max
        self._balances: dict[str, dict[str, int]] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def get(self, account_id: str) -> CachedBalances:
        with self._lock:
            found = self._balances.get(account_id)
            balances = None if found is None else dict(found)
            return CachedBalances(self._generation(account_id), balances)

    def put(self, account_id: str, generation: int, balances: Mapping[str, int]) -> None:
        with self._lock:
            if generation != self._generation(account_id):
                return
            if max(len(self._balances), len(self._generations)) >= self._entries_max:
                self._reset()
                return
            self._balances[account_id] = dict(balances)

    def invalidate(self, account_ids: Collection[str]) -> None:
        with self._lock:
            for account_id in account_ids:
                self._balances.pop(account_id, None)
                self._generations[account_id] = self._generations.get(account_id, 0) + 1

    def _generation(self, account_id: str) -> int:
        return (self._epoch << _EPOCH_SHIFT) + self._generations.get(account_id, 0)

    def _reset(self) -> None:
        """Forgetting generations is safe only if every old generation stops matching."""
        self._balances.clear()
        self._generations.clear()
        self._epoch += 1
