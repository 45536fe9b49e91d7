"""adapters/memory_cache.py: a fill may never write back a balance older than an invalidation."""

from __future__ import annotations

from wallet.adapters.memory_cache import MemoryBalanceCache


def test_a_miss_then_a_put_then_a_hit() -> None:
    cache = MemoryBalanceCache()
    miss = cache.get("alice")
    assert miss.balances is None
    cache.put("alice", miss.generation, {"USD": 500})
    assert cache.get("alice").balances == {"USD": 500}


def test_a_hit_is_a_copy_the_reader_may_change() -> None:
    cache = MemoryBalanceCache()
    cache.put("alice", cache.get("alice").generation, {"USD": 500})
    cache.get("alice").balances["USD"] = 1
    assert cache.get("alice").balances == {"USD": 500}


def test_invalidate_drops_the_entry_and_moves_the_generation() -> None:
    cache = MemoryBalanceCache()
    before = cache.get("alice").generation
    cache.put("alice", before, {"USD": 500})
    cache.invalidate(["alice"])
    after = cache.get("alice")
    assert after.balances is None
    assert after.generation != before


def test_a_put_that_raced_an_invalidation_is_ignored() -> None:
    cache = MemoryBalanceCache()
    stale = cache.get("alice").generation  # a reader misses and goes to the store...
    cache.invalidate(["alice"])  # ...while the consumer commits and invalidates
    cache.put("alice", stale, {"USD": 0})
    assert cache.get("alice").balances is None


def test_invalidate_leaves_other_wallets_alone() -> None:
    cache = MemoryBalanceCache()
    cache.put("bob", cache.get("bob").generation, {"USD": 7})
    cache.invalidate(["alice"])
    assert cache.get("bob").balances == {"USD": 7}


def test_the_entries_bound_resets_the_cache() -> None:
    cache = MemoryBalanceCache(entries_max=2)
    for wallet in ("alice", "bob"):
        cache.put(wallet, cache.get(wallet).generation, {"USD": 1})
    cache.put("carol", cache.get("carol").generation, {"USD": 1})
    assert [cache.get(w).balances for w in ("alice", "bob", "carol")] == [None, None, None]


def test_a_fill_from_before_a_reset_is_ignored() -> None:
    cache = MemoryBalanceCache(entries_max=1)
    stale = cache.get("alice").generation
    cache.put("bob", cache.get("bob").generation, {"USD": 1})
    cache.put("carol", cache.get("carol").generation, {"USD": 1})  # resets
    cache.put("alice", stale, {"USD": 0})
    assert cache.get("alice").balances is None
    cache.put("alice", cache.get("alice").generation, {"USD": 5})
    assert cache.get("alice").balances == {"USD": 5}
