"""Several consumers on one PostgreSQL ledger: no deadlock, no lost update, no overdraft.

Kafka partitions by the debited wallet, so a transfer's credit lands on a
wallet that another consumer may be debiting at that moment, and after a
rebalance two consumers may both hold one command. Each consumer here is a
store with its own pool, as a consumer process has: first on threads, then
in real processes.
"""

import multiprocessing
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

import psycopg
import pytest
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_history import history_statement
from wallet.adapters.sql_migrations import SCHEMA_VERSION
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Payout, Transfer, request_hash
from wallet.domain.errors import Unavailable
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import (
    DEPOSITS_ACCOUNT,
    BalanceKey,
    Book,
    Transaction,
    legs,
)
from wallet.service_layer.ledger import apply_batch
from wallet.service_layer.ports import Accounts, HistoryQuery, LedgerBatch

from tests.services.postgres import fresh_schema

from .consumers import Consumed, Rounds, consume, consume_in_process, now
from .support import (
    Backend,
    RawLedger,
    RawPostgres,
    by_account,
    envelope,
    unique,
    wait_until,
)

pytestmark = pytest.mark.backends("postgres")

SEED_MINOR = 1_000_000  # more than every debit of a run together: no command is ever refused
AMOUNT_MINOR_MAX = 100
REUSED = "reused"  # the prefix of keys sent with two different requests
RUN_TIMEOUT_S = 60
LOCK_FREE_TIMEOUT_S = 5  # well under the lock timeout: a batch that waited would miss it


@pytest.fixture
def other_store(backend: Backend, store: SqlLedgerStore) -> Iterator[SqlLedgerStore]:
    """A second consumer on the same database, with a pool of its own."""
    other = SqlLedgerStore(backend.open())
    yield other
    other.close()


def fund(store: SqlLedgerStore, *wallets: str) -> list[Envelope]:
    deposits = [envelope(Deposit(wallet, SEED_MINOR, "USD")) for wallet in wallets]
    apply_batch(store, MemoryBalanceCache(), deposits, now)
    return deposits


def post(batch: LedgerBatch, sent: Envelope) -> Transaction:
    """What apply_batch does for one fresh command, leaving the transaction open."""
    keys = {(account, sent.command.currency) for account in legs(sent.command)}
    book = Book(batch.load_balances(keys).balances)
    assert batch.load_outcomes([sent.command_id]) == {}
    transaction = book.post(sent.command, sent.command_id, now())
    assert isinstance(transaction, Transaction)
    batch.save([(sent, TransactionCommitted(sent.command_id, sent.request_hash, transaction))],
               Accounts(book.changed, {}), [])
    return transaction


def waiting(raw: RawLedger, locktype: str) -> int:
    """Lock requests of this test's connections that wait on `locktype`, granted to another."""
    return int(raw.rows(
        "SELECT COUNT(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
        "WHERE locktype = ? AND NOT granted "
        "AND application_name = current_setting('application_name')", (locktype,))[0][0])


# --- the two races, made deterministic ------------------------------------------------------

def test_a_second_credit_to_a_new_wallet_waits_and_adds_up(
    store: SqlLedgerStore, other_store: SqlLedgerStore, raw: RawLedger
) -> None:
    """The lost update that row locks allow: both batches would read no row and write 0 + x."""
    alice, bob, fresh = unique("alice"), unique("bob"), unique("new")
    fund(store, alice, bob)
    with ThreadPoolExecutor(1) as second, store.batch() as batch:
        post(batch, envelope(Transfer(alice, fresh, 5, "USD")))
        credit = second.submit(apply_batch, other_store, MemoryBalanceCache(),
                               [envelope(Transfer(bob, fresh, 7, "USD"))], now)
        wait_until(lambda: waiting(raw, "advisory") == 1, "the second batch to wait for the lock")
        assert not credit.done()
    [outcome] = credit.result(timeout=10)
    assert isinstance(outcome, TransactionCommitted)
    assert outcome.transaction.postings[1].balance_after_minor == 12
    assert store.balances(fresh).balances == {"USD": 12}
    raw.assert_consistent()


def test_deposits_on_two_consumers_do_not_wait_for_each_other(
    store: SqlLedgerStore, other_store: SqlLedgerStore, raw: RawLedger
) -> None:
    """Every deposit debits the deposits account: it must not make deposit batches take turns."""
    alice, bob = unique("alice"), unique("bob")
    with ThreadPoolExecutor(1) as second, store.batch() as batch:
        post(batch, envelope(Deposit(alice, 5, "USD")))
        credit = second.submit(apply_batch, other_store, MemoryBalanceCache(),
                               [envelope(Deposit(bob, 7, "USD"))], now)
        [outcome] = credit.result(timeout=LOCK_FREE_TIMEOUT_S)  # the first batch is still open
    assert isinstance(outcome, TransactionCommitted)
    assert [store.balances(wallet).balances for wallet in (alice, bob)] == [{"USD": 5}, {"USD": 7}]
    assert store.balances(DEPOSITS_ACCOUNT).balances == {"USD": -12}
    raw.assert_consistent()


def test_a_key_reused_on_two_consumers_fails_the_later_batch_which_then_answers(
    store: SqlLedgerStore, other_store: SqlLedgerStore, raw: RawLedger
) -> None:
    """Disjoint wallets take no common lock, so the id itself collides: an error, not a success."""
    a, b, c, d = (unique(name) for name in "abcd")
    fund(store, a, c)
    first, second = Transfer(a, b, 10, "USD"), Transfer(c, d, 20, "USD")
    key = unique("key")
    with ThreadPoolExecutor(1) as racer, store.batch() as batch:
        post(batch, Envelope(key, request_hash(first), first))
        late = racer.submit(apply_batch, other_store, MemoryBalanceCache(),
                            [Envelope(key, request_hash(second), second)], now)
        wait_until(lambda: waiting(raw, "transactionid") == 1, "the insert to wait on the id")
    with pytest.raises(psycopg.IntegrityError):
        late.result(timeout=10)
    [retried] = apply_batch(other_store, MemoryBalanceCache(),
                            [Envelope(key, request_hash(second), second)], now)
    assert isinstance(retried, CommandRejected)
    assert retried.rejection.code == "idempotency_key_reused"
    assert [store.balances(wallet).balances for wallet in (b, d)] == [{"USD": 10}, {}]
    raw.assert_consistent()


# --- many consumers, many rounds ------------------------------------------------------------

def some_command(rng: random.Random, wallets: Sequence[str], with_system: bool) -> LedgerCommand:
    amount = rng.randint(1, AMOUNT_MINOR_MAX)
    roll = rng.random() if with_system else 1.0
    if roll < 0.25:
        return Deposit(rng.choice(wallets), amount, "USD")
    if roll < 0.5:
        return Payout(rng.choice(wallets), amount, "USD")
    source, target = rng.sample(list(wallets), 2)
    return Transfer(source, target, amount, "USD")


Plan = list[list[list[Envelope]]]  # per consumer, per round, a batch


def plan(rng: random.Random, wallets: Sequence[str], consumers: int, rounds: int) -> Plan:
    """Each consumer's batch per round; every other round stays clear of the system accounts.

    A round also sends every consumer's credit to one new wallet, one command
    to two consumers at once, and one key with two different requests.
    """
    plans: Plan = [[] for _ in range(consumers)]
    for number in range(rounds):
        fresh = unique("new")
        batches = [[envelope(some_command(rng, wallets, number % 2 == 1)) for _ in range(4)]
                   + [envelope(Transfer(rng.choice(wallets), fresh, 1 + number, "USD"))]
                   for _ in range(consumers)]
        twin_from, twin_to = rng.sample(list(wallets), 2)
        twin = envelope(Transfer(twin_from, twin_to, 3, "USD"))
        first, second = rng.sample(range(consumers), 2)
        batches[first].append(twin)
        batches[second].insert(0, twin)
        one_from, one_to, other_from, other_to = rng.sample(list(wallets), 4)
        reused = [Transfer(one_from, one_to, 2, "USD"), Transfer(other_from, other_to, 5, "USD")]
        key = unique(REUSED)
        for consumer, command in zip(rng.sample(range(consumers), 2), reused, strict=True):
            batches[consumer].append(Envelope(key, request_hash(command), command))
        for consumer, batch in enumerate(batches):
            plans[consumer].append(batch)
    return plans


def run_threads(stores: Sequence[SqlLedgerStore], plans: Sequence[Rounds]) -> list[Consumed]:
    start = threading.Barrier(len(stores))
    with ThreadPoolExecutor(len(stores)) as pool:
        futures = [pool.submit(consume, s, p, start) for s, p in zip(stores, plans, strict=True)]
        wait(futures, timeout=RUN_TIMEOUT_S)
    return results(futures)


def results(futures: Sequence[Future[Consumed]]) -> list[Consumed]:
    """The root cause first: the others only saw the barrier break."""
    causes = [cause for cause in (f.exception() for f in futures) if cause is not None]
    root_causes = [c for c in causes if not isinstance(c, threading.BrokenBarrierError)]
    if causes:
        raise (root_causes or causes)[0]
    return [future.result() for future in futures]


def expected_balances(sent: Sequence[Envelope], stored: dict[str, str]) -> dict[BalanceKey, int]:
    """Each id moves money once, as the request the ledger recorded for it says."""
    balances: dict[BalanceKey, int] = {}
    applied = {e.command_id: e for e in sent if stored[e.command_id] == e.request_hash}
    for one in applied.values():
        debited, credited = legs(one.command)
        amount, currency = one.command.amount_minor, one.command.currency
        balances[debited, currency] = balances.get((debited, currency), 0) - amount
        balances[credited, currency] = balances.get((credited, currency), 0) + amount
    return balances


def check_books(
    raw: RawLedger, seeds: list[Envelope], plans: Sequence[Rounds], consumed: list[Consumed]
) -> None:
    raw.assert_consistent()
    sent = seeds + [e for rounds in plans for batch in rounds for e in batch]
    ids = {e.command_id for e in sent}
    stored = {i: h for i, h, status in raw.rows("SELECT id, request_hash, status FROM transactions")
              if status == "committed"}
    assert set(stored) == ids, "a command was lost, refused, or recorded twice"
    assert by_account(raw.stored_balances()) == expected_balances(sent, stored)
    assert sum(raw.entry_sums().values()) == 0, "money was made or destroyed"
    fresh = [o for c in consumed for o in c.outcomes]
    assert Counter(o.command_id for o in fresh if isinstance(o, TransactionCommitted)) == \
        Counter(ids - {e.command_id for e in seeds}), "published other than once per command"
    refused = [o for o in fresh if isinstance(o, CommandRejected)]
    assert {o.rejection.code for o in refused} <= {"idempotency_key_reused"}
    assert sorted(o.command_id for o in refused) == sorted(i for i in ids if REUSED in i)
    for consumer, done in enumerate(consumed):
        for number in done.retried:
            assert any(REUSED in e.command_id for e in plans[consumer][number]), \
                "only a reused key may make a batch fail: duplicates must wait for the lock"


WALLETS, THREADS, THREAD_ROUNDS = 8, 4, 30


def test_consumer_threads_keep_the_books(
    store: SqlLedgerStore, backend: Backend, raw: RawLedger
) -> None:
    wallets = [unique(f"w{index}") for index in range(WALLETS)]
    seeds = fund(store, *wallets)
    plans = plan(random.Random(20261125), wallets, THREADS, THREAD_ROUNDS)
    stores = [SqlLedgerStore(backend.open()) for _ in range(THREADS)]
    try:
        consumed = run_threads(stores, plans)
    finally:
        for one in stores:
            one.close()
    check_books(raw, seeds, plans, consumed)


PROCESSES, PROCESS_ROUNDS = 2, 30
JOIN_TIMEOUT_S = 10


def test_consumer_processes_keep_the_books(store: SqlLedgerStore, raw: RawLedger) -> None:
    assert isinstance(raw, RawPostgres)
    wallets = [unique(f"w{index}") for index in range(WALLETS)]
    seeds = fund(store, *wallets)
    plans = plan(random.Random(7), wallets, PROCESSES, PROCESS_ROUNDS)
    context = multiprocessing.get_context("spawn")  # no pool threads inherited mid-flight
    start, queue = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=consume_in_process, args=(raw.url, p, start, queue))
                 for p in plans]
    for process in processes:
        process.start()
    try:
        consumed = [queue.get(timeout=RUN_TIMEOUT_S) for _ in processes]
    finally:
        for process in processes:
            process.join(JOIN_TIMEOUT_S)
            if process.is_alive():
                process.kill()
    assert all(isinstance(one, Consumed) for one in consumed), consumed
    check_books(raw, seeds, plans, consumed)


# --- migrations, the journal, the connections -----------------------------------------------

MIGRATION_ROUNDS, MIGRATORS = 5, 6


def migrate_together(url: str) -> list[int]:
    """Several stores, as several processes starting at once would, migrate one database."""
    stores = [SqlLedgerStore(PostgresDialect(url, 1)) for _ in range(MIGRATORS)]
    start = threading.Barrier(MIGRATORS, timeout=10)

    def migrate(store: SqlLedgerStore) -> int:
        start.wait()
        return store.migrate()

    try:
        with ThreadPoolExecutor(MIGRATORS) as pool:
            return list(pool.map(migrate, stores, timeout=RUN_TIMEOUT_S))
    finally:
        for store in stores:
            store.close()


def test_concurrent_migrations_of_a_fresh_database_all_reach_the_version() -> None:
    """Without the schema lock, CREATE TABLE IF NOT EXISTS itself fails under this race."""
    for number in range(MIGRATION_ROUNDS):
        with fresh_schema() as url:
            assert migrate_together(url) == [SCHEMA_VERSION] * MIGRATORS, f"round {number}"
            assert RawPostgres(url).rows("SELECT version FROM schema_version") == [
                (version,) for version in range(1, SCHEMA_VERSION + 1)]


PAGE_SHAPES = {
    "newest first": HistoryQuery("w", 20),
    "oldest first, past a cursor": HistoryQuery("w", 20, after_seq=9, ascending=True),
    "largest first, past a cursor": HistoryQuery(
        "w", 20, by_amount=True, after_seq=9, after_amount_minor=40),
    "smallest first": HistoryQuery("w", 20, by_amount=True, ascending=True),
    "one entry type, newest first": HistoryQuery("w", 20, entry_type="payout"),
    "one entry type, past a cursor": HistoryQuery("w", 20, entry_type="deposit", after_seq=9),
}


USERS_ONLY_FILTER = "Filter: (account_id !~~ 'system:%'::text)"


@pytest.mark.parametrize("shape", PAGE_SHAPES)
def test_a_history_page_reads_an_index_in_its_order(
    store: SqlLedgerStore, backend: Backend, raw: RawLedger, shape: str
) -> None:
    """No scan of the table, no sort, no filter: a page costs the same however long the history.

    The planner is told scans and sorts cost the earth, so it takes them only
    when no index can serve the page; a filter means rows read and thrown away.
    """
    assert isinstance(raw, RawPostgres)
    fund(store, "w")
    statement, params = history_statement(backend.open(), PAGE_SHAPES[shape])
    with psycopg.connect(raw.url, autocommit=True) as connection:
        connection.execute("SET enable_seqscan = off")
        connection.execute("SET enable_sort = off")
        plan = "\n".join(row[0] for row in connection.execute(
            "EXPLAIN " + statement, params).fetchall()
            if USERS_ONLY_FILTER not in row[0])  # it throws away no row of a user's wallet
    assert not {"Seq Scan", "Sort", "Filter"} & set(re.findall(r"Seq Scan|Sort|Filter", plan)), plan


@pytest.mark.parametrize("table", ["transactions", "entries"])
def test_the_journal_refuses_truncate(store: SqlLedgerStore, raw: RawLedger, table: str) -> None:
    fund(store, unique("user"))
    with pytest.raises(psycopg.Error, match="append-only"):
        raw.execute(f"TRUNCATE {table} CASCADE")
    assert (raw.count("transactions"), raw.count("entries")) == (1, 2)


def test_every_pooled_connection_commits_durably_in_read_committed(
    store: SqlLedgerStore, backend: Backend
) -> None:
    """Two writers at once, so the pool has to open a second connection for the second."""
    dialect = backend.open()
    both = threading.Barrier(2, timeout=10)

    def settings(_: int) -> tuple[str, ...]:
        with dialect.write() as cursor:
            both.wait()
            cursor.execute("SELECT current_setting('synchronous_commit'), "
                           "current_setting('transaction_isolation'), "
                           "current_setting('lock_timeout')")
            return tuple(cursor.fetchone())

    try:
        with ThreadPoolExecutor(2) as pool:
            seen = list(pool.map(settings, range(2), timeout=RUN_TIMEOUT_S))
    finally:
        dialect.close()
    assert seen == [("on", "read committed", "10s")] * 2


UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:1/test"  # port 1: refused at once


def test_an_unreachable_server_is_unavailable_after_the_pool_timeout() -> None:
    store = SqlLedgerStore(PostgresDialect(UNREACHABLE_URL, pool_timeout_s=0.2))
    try:
        with pytest.raises(Unavailable):
            store.ping()
        with pytest.raises(Unavailable):
            store.migrate()
    finally:
        store.close()


def test_outcomes_read_back_equal_the_published_ones(
    store: SqlLedgerStore, other_store: SqlLedgerStore
) -> None:
    """What a consumer publishes is what a reader on another connection gets, field by field."""
    user = unique("user")
    published: list[Outcome] = apply_batch(store, MemoryBalanceCache(), [
        envelope(Deposit(user, 50, "USD")), envelope(Payout(user, 80, "USD"))], now)
    assert [other_store.outcome(o.command_id) for o in published] == published
