"""Issue 17: whatever the edge accepts, every backend applies or rejects alike, and never raises.

Hypothesis draws every text field of the writes (user ids, amounts, currencies,
references, metadata keys and values, expiries) and every query and path
parameter of the reads from the whole Unicode range, lone surrogates (category
Cs) and control characters (Cc) included, and sends each as a hostile client
would: JSON whose `\\udXXX` escapes carry lone surrogates, raw UTF-8 bytes, or
a form. Each case runs on two real write paths wired by `bootstrap.build`, one
on a SQLite file and one in a PostgreSQL schema, through the function modules
loaded from disk, with the in-process log drained synchronously by the real
consumer.

A body the edge refuses is a 4xx in the error envelope, never a 500. A body it
accepts is applied, or rejected for a business reason: nothing is set aside
(no dead letter, no `unprocessable_command`, no exception), and both backends
decide it the same way, its labels read back as they were sent. A canary
deposit must commit after every case, so a case that leaves a backend unable to
apply fails where it happened, not in some later test.
"""

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from wallet import bootstrap
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.memory_dead_letters import MemoryDeadLetters
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_dialect import Dialect
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect
from wallet.config import Config
from wallet.domain.access import USER_ID, Principal
from wallet.domain.commands import (
    HOLD_EXPIRY_MAX_S,
    METADATA_KEY,
    METADATA_KEYS_MAX,
    METADATA_VALUE_LENGTH_MAX,
    REFERENCE_LENGTH_MAX,
)
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.entrypoints import api
from wallet.entrypoints.api import STATUS_BY_CODE, Action
from wallet_runtime.functions import load_actions

from tests.services.postgres import fresh_schema

from .support import RawLedger, RawPostgres, RawSQLite, by_account, unique

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
# Per test, each case on both backends: 1-4 s a test here, some 15-20 s for the file. Against
# the code before the fix, most runs of the file fail within these.
EXAMPLES_MAX = 150
POOL_SIZE_MAX = 4  # one thread at a time uses the store; room for the service's readers
BATCH_SIZE_MAX = 64
DRAIN_POLLS_MAX = 8  # a case appends at most two commands; more polls than this is a loop
TOKEN_TTL_S = 3_600  # outlives the module's run
SET_ASIDE = "unprocessable_command"  # the consumer's answer to a command that raised
JSON, FORM = "application/json", "application/x-www-form-urlencoded"
# Each backend commits at its own instants, and its cursors name its own sequence numbers.
VOLATILE_FIELDS = frozenset({"createdAt", "updatedAt", "expiresAt", "nextCursor"})

# Wallets the module funds, so that generated writes can commit and not only be refused.
OPERATOR, FUNDER, PAYER, HOLDER, CAPTURER, READER, CANARY = (
    "operator", "funder", "payer", "holder", "capturer", "reader", "canary")
FUNDING = "1000000000"  # the default WALLET_AMOUNT_MAX: as much as one deposit may carry
READER_REFERENCE = "Zoë's order №7 🍕"  # the reads filter on labels beyond ASCII and the BMP
READER_METADATA = {"note": "naïve café ✓ 𝄞", "zwj": "👩\u200d💻"}
HOLD_AMOUNT = "50.00"
# No hold may expire while the module runs: each backend expires a hold in its own next
# command on the wallet, a few milliseconds apart, and that timing is not what is compared.
HOLD_EXPIRY_SAFE_MIN_S = 3_600
FULLWIDTH_USD = "\uff35\uff33\uff24"  # which upper() keeps, and an ISO code check must refuse

Fields = Mapping[str, Any]
ABSENT = object()  # an optional field the body leaves out


# --- strategies -----------------------------------------------------------------------------

# Most values are what a client means, so that most requests pass the edge and a hostile one
# is often the only thing wrong with its request; rarer still where a request has many.
JUNK_ODDS, RARE_JUNK_ODDS = 3, 12


def mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any],
           odds: int = JUNK_ODDS) -> st.SearchStrategy[Any]:
    """`usual`, and one time in `odds` `rare`; shrinking leads back to `usual`."""
    return st.integers(1, odds).flatmap(lambda n: rare if n == odds else usual)


# codec=None: every code point, lone surrogates (Cs) and controls (Cc) among them, which
# st.text()'s default (UTF-8 encodable) alphabet leaves out.
ANY_TEXT = st.text(st.characters(codec=None), max_size=12)
RULED_CHARACTER = st.characters(codec=None, exclude_categories=["Cs", "Cc"])  # domain/text.py
RULED_TEXT = mostly(
    st.text(RULED_CHARACTER, min_size=1, max_size=12),
    # Around the length limits: a reference's 128 characters, a metadata value's 256.
    st.text(RULED_CHARACTER, min_size=REFERENCE_LENGTH_MAX - 1,
            max_size=METADATA_VALUE_LENGTH_MAX + 1))
# Text the rule lets through, with one character it refuses somewhere inside: as often a
# control (NUL among them) as a lone surrogate, though there are 2,048 of those to 65.
REFUSED_TEXT = st.builds(
    lambda text, refused, at: text[:at] + refused + text[at:], RULED_TEXT,
    st.characters(codec=None, categories=["Cc"]) | st.characters(codec=None, categories=["Cs"]),
    st.integers(0, 12))
JUNK = st.one_of(
    REFUSED_TEXT, ANY_TEXT, st.none(), st.booleans(), st.integers(),
    st.floats(),  # Infinity and NaN too, which Python's JSON writes and the edge must refuse
    st.lists(ANY_TEXT, max_size=2), st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=2))


def texts(*meant: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """What a client means, or now and then text the rule refuses, or any text at all."""
    return mostly(st.one_of(*meant), st.one_of(REFUSED_TEXT, ANY_TEXT))


USER = st.from_regex(USER_ID, fullmatch=True)
AMOUNT = mostly(
    st.one_of(
        st.from_regex(r"[1-9][0-9]{0,8}(\.[0-9]{1,2})?", fullmatch=True),
        # JSON numbers, as JavaScript sends them: 12, and 0.07 (a float whose repr is cents)
        st.integers(1, 10**6), st.integers(1, 10**8).map(lambda cents: cents / 100),
        st.sampled_from(["50", HOLD_AMOUNT, "25.5", "50.01"])),  # around a captured hold's
    st.sampled_from(["0", "0.001", "1e2", " 1", "١٢", "1_000"]))
CURRENCY = mostly(st.sampled_from(["USD", "usd", "EUR", "JPY", "KWD"]),
                  st.sampled_from(["XXX", "ZZZ", FULLWIDTH_USD]))
METADATA_KEY_TEXT = mostly(st.from_regex(METADATA_KEY, fullmatch=True),
                           st.one_of(REFUSED_TEXT, ANY_TEXT), RARE_JUNK_ODDS)
METADATA = st.dictionaries(METADATA_KEY_TEXT, st.just("") | RULED_TEXT,
                           max_size=METADATA_KEYS_MAX + 1)
EXPIRY = mostly(st.integers(HOLD_EXPIRY_SAFE_MIN_S, HOLD_EXPIRY_MAX_S),
                st.sampled_from([0, -1, HOLD_EXPIRY_MAX_S + 1])).flatmap(
    lambda seconds: st.sampled_from([seconds, str(seconds)]))  # a JSON number, or its text
LABELS = {"currency": CURRENCY, "reference": RULED_TEXT, "metadata": METADATA}
# A label given one character the rule refuses: hostile text hides in free text, the more
# so in metadata, whose values are many and may be empty.
HOSTILE_LABEL = mostly(
    st.builds(lambda key, value: ("metadata", {key: value}), METADATA_KEY_TEXT, REFUSED_TEXT),
    st.tuples(st.just("reference"), REFUSED_TEXT))


def body(required: Mapping[str, st.SearchStrategy[Any]],
         optional: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Fields]:
    """A body a client means, half the time with one thing spoiled: a field replaced by junk
    or added under a name no route knows, or, in a body with labels, a hostile label."""
    names = st.sampled_from(sorted({*required, *optional, "amount"})) | ANY_TEXT
    spoiler = st.tuples(names, JUNK)
    if "metadata" in optional:  # the issue's own case is the likelier
        spoiler = mostly(HOSTILE_LABEL, spoiler)
    # Each optional field is sent half the time (fixed_dictionaries' `optional` sends fewer).
    maybe = {name: st.just(ABSENT) | strategy for name, strategy in optional.items()}
    return st.builds(spoiled, st.fixed_dictionaries({**required, **maybe}),
                     mostly(st.none(), spoiler, odds=2))


def spoiled(fields: Fields, spoiler: tuple[str, Any] | None) -> Fields:
    sent = {name: value for name, value in fields.items() if value is not ABSENT}
    if spoiler is None:
        return sent
    name, value = spoiler
    if name == "metadata" and isinstance(value, dict) and isinstance(sent.get(name), dict):
        value = {**sent[name], **value}  # the hostile value among the body's others
    return {**sent, name: value}


WRITES: dict[str, tuple[str, st.SearchStrategy[Fields], str]] = {
    # action: (route key, body, whose token sends it)
    "deposit": ("POST /wallet/deposit", body({"userId": USER, "amount": AMOUNT}, LABELS),
                OPERATOR),
    "payout": ("POST /wallet/payout",
               body({"userId": st.just(PAYER) | USER, "amount": AMOUNT}, LABELS), OPERATOR),
    # A transfer may leave only its sender's wallet: the sender's own token, always.
    "transfer": ("POST /wallet/transfer", body(
        {"fromUserId": st.just(FUNDER), "toUserId": USER, "amount": AMOUNT}, LABELS), FUNDER),
    "hold_place": ("POST /wallet/holds", body(
        {"userId": st.just(HOLDER) | USER, "amount": AMOUNT},
        {**LABELS, "expiresInSeconds": EXPIRY}), OPERATOR),
}
CAPTURE = body({}, {"amount": AMOUNT, "currency": CURRENCY})
VOID = st.none() | body({}, {})  # None: no body at all
ENCODINGS = st.sampled_from(["json", "utf-8", "form"])


# --- two wired write paths ------------------------------------------------------------------

@dataclass(frozen=True)
class Encoded:
    text: str
    base64: bool
    content_type: str
    exact: bool  # the edge reads back exactly these fields: JSON does, a form decodes its own


def encoded(fields: Fields | None, encoding: str) -> Encoded:
    if fields is None:
        return Encoded("", False, JSON, True)
    if encoding == "json":  # ASCII, lone surrogates as \udXXX escapes
        return Encoded(json.dumps(fields), False, JSON, True)
    if encoding == "utf-8":  # a lone surrogate as its own three bytes, which no decoder takes
        raw = json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return Encoded(base64.b64encode(raw).decode(), True, JSON, True)
    return Encoded(form(fields), False, FORM, False)


def form(fields: Fields) -> str:
    """As a form sends them: metadata as metadata.<key> fields, every value as text."""
    pairs = [(f"metadata.{key}", value) for key, value in fields["metadata"].items()] \
        if isinstance(fields.get("metadata"), dict) else []
    pairs += [(name, value) for name, value in fields.items()
              if name != "metadata" or not isinstance(value, dict)]
    return "&".join(f"{_percent(name)}={_percent(value)}" for name, value in pairs)


def _percent(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text, safe="", errors="surrogatepass")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Settled:
    """A write's answer and, when the edge accepted it, what the ledger decided."""

    answer: Answer
    outcome: Outcome | None


class Ledger:
    """One backend's whole write path, driven one request and one drain at a time."""

    def __init__(self, name: str, container: bootstrap.Container, raw: RawLedger) -> None:
        self.name, self.container, self.raw = name, container, raw
        self.actions: Mapping[str, Action] = load_actions(FUNCTIONS)
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            role = "operator" if user == OPERATOR else "user"
            self._tokens[user] = self.container.tokens.issue(Principal(user, role), TOKEN_TTL_S)
        return self._tokens[user]

    def call(self, action: str, event: Mapping[str, Any]) -> Answer:
        bootstrap.install(self.container)  # the edge serves the process's one container
        result = api.run(event, self.actions[action])
        return Answer(result["statusCode"], json.loads(result["body"]))

    def drain(self) -> list[Outcome]:
        """Polls, applies and commits until the log is empty; whatever handle raises escapes."""
        source, decided = self.container.source, list[Outcome]()
        for _ in range(DRAIN_POLLS_MAX):
            records = source.poll(BATCH_SIZE_MAX, 0)
            if not records:
                return decided
            decided += self.container.consumer.handle([record.value for record in records])
            source.commit(records)
        raise AssertionError(f"{self.name}: the log did not drain in {DRAIN_POLLS_MAX} polls")

    def letters(self) -> list[tuple[bytes, str]]:
        letters = self.container.dead_letters
        assert isinstance(letters, MemoryDeadLetters), "build() keeps them in memory"
        return letters.letters()

    def write(self, action: str, event: Mapping[str, Any]) -> Settled:
        """Sends the write; if accepted, drains the log, and nothing may be set aside."""
        letters_before = len(self.letters())
        answer = self.call(action, event)
        if answer.status != 202:
            assert_refused(answer)
            return Settled(answer, None)
        decided = self.drain()
        assert self.letters()[letters_before:] == [], f"{self.name} set a command aside"
        assert not [o for o in decided if isinstance(o, CommandRejected)
                    and o.rejection.code == SET_ASIDE], f"{self.name}: {decided}"
        outcome = self.container.store.outcome(answer.body["id"])
        assert outcome is not None, f"{self.name}: the log drained, yet no outcome"
        return Settled(answer, outcome)


@dataclass(frozen=True)
class World:
    ledgers: tuple[Ledger, Ledger]
    reader_hold: str  # a hold of READER's, and the deposit it was placed on
    reader_deposit: str

    def write(self, action: str, route: str, fields: Fields | None, sender: str,
              encoding: str = "json", path: Mapping[str, str] | None = None) -> Settled:
        """The same request on every backend, under one Idempotency-Key so the ids agree;
        every backend must answer and decide it alike."""
        key, sent = unique("key"), encoded(fields, encoding)
        settled = [ledger.write(action, write_event(route, ledger.token(sender), sent, key, path))
                   for ledger in self.ledgers]
        first, second = (verdict(each) for each in settled)
        assert first == second, f"SQLite and PostgreSQL disagree: {first} != {second}"
        return settled[0]

    def canary(self) -> None:
        """A plain deposit commits on every backend: the case left each able to apply."""
        key, sent = unique("canary"), encoded({"userId": CANARY, "amount": "1.00"}, "json")
        for ledger in self.ledgers:
            event = write_event("POST /wallet/deposit", ledger.token(OPERATOR), sent, key)
            settled = ledger.write("deposit", event)
            assert isinstance(settled.outcome, TransactionCommitted), (ledger.name, settled)


def write_event(route: str, token: str, sent: Encoded, key: str,
                path: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"routeKey": route, "body": sent.text, "isBase64Encoded": sent.base64,
            "headers": {"authorization": f"Bearer {token}", "content-type": sent.content_type,
                        "idempotency-key": key},
            "pathParameters": dict(path or {})}


def assert_refused(answer: Answer) -> None:
    """A 4xx in the one error envelope, its status the one its code maps to."""
    assert 400 <= answer.status < 500, answer
    assert set(answer.body) == {"error"}, answer
    error = answer.body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), answer
    assert STATUS_BY_CODE[error["code"]] == answer.status, answer


def verdict(settled: Settled) -> tuple[Any, ...]:
    """What must be equal on every backend: the answer, and what the ledger decided."""
    outcome = settled.outcome
    answer = (settled.answer.status, settled.answer.body)
    if isinstance(outcome, TransactionCommitted):
        moved = outcome.transaction
        return (*answer, "committed", moved.kind, moved.amount_minor, moved.currency,
                *labels_of(outcome))
    if isinstance(outcome, HoldUpdated):
        hold = outcome.change.hold
        return (*answer, "hold", hold.status, hold.amount_minor, hold.captured_minor,
                hold.currency, *labels_of(outcome))
    if isinstance(outcome, CommandRejected):
        return (*answer, "rejected", outcome.rejection.code)
    return answer


def labels_of(outcome: TransactionCommitted | HoldUpdated) -> tuple[Any, ...]:
    """(reference, metadata) as the store read them back."""
    labelled = outcome.transaction if isinstance(outcome, TransactionCommitted) \
        else outcome.change.hold
    return labelled.reference, labelled.metadata


def sent_labels(fields: Fields) -> tuple[Any, ...]:
    return fields.get("reference"), tuple(sorted(fields.get("metadata", {}).items()))


@contextmanager
def wired(name: str, dialect: Dialect, raw: RawLedger, data_dir: Path) -> Iterator[Ledger]:
    config = Config.from_env({
        "WALLET_DATA_DIR": str(data_dir), "WALLET_JWT_SECRET": "x" * 32,
        "WALLET_BATCH_SIZE_MAX": str(BATCH_SIZE_MAX),
        # 0: every accepted write answers 202 at once, and the test drains the log itself.
        "WALLET_WAIT_FOR_COMMIT_MS": "0",
        "WALLET_RATE_LIMIT_USER_PER_S": "0"})  # hundreds of cases from one sender
    container = bootstrap.build(config, store=SqlLedgerStore(dialect),
                                connections=MemoryConnections())
    try:
        yield Ledger(name, container, raw)
    finally:
        bootstrap.install(None)
        container.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("edge")
    sqlite_path = directory / "ledger.sqlite3"
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema())
        ledgers = (
            stack.enter_context(wired("sqlite", SQLiteDialect(sqlite_path),
                                      RawSQLite(sqlite_path), directory / "sqlite")),
            stack.enter_context(wired("postgres", PostgresDialect(url, POOL_SIZE_MAX),
                                      RawPostgres(url), directory / "postgres")))
        yield seeded(ledgers)


def seeded(ledgers: tuple[Ledger, Ledger]) -> World:
    """Funds the wallets writes draw on, and gives READER labelled history and a hold."""
    world = World(ledgers, "", "")
    for user in (FUNDER, PAYER, HOLDER, CAPTURER):
        committed(world.write("deposit", "POST /wallet/deposit",
                              {"userId": user, "amount": FUNDING}, OPERATOR))
    deposit = committed(world.write("deposit", "POST /wallet/deposit", {
        "userId": READER, "amount": "120.25", "reference": READER_REFERENCE,
        "metadata": READER_METADATA}, OPERATOR))
    hold = committed(world.write("hold_place", "POST /wallet/holds", {
        "userId": READER, "amount": "20", "reference": READER_REFERENCE}, READER))
    return World(ledgers, hold, deposit)


def committed(settled: Settled) -> str:
    assert isinstance(settled.outcome, TransactionCommitted | HoldUpdated), settled
    return settled.outcome.command_id


def assert_same_money(world: World) -> None:
    """Read around the adapters: each backend's balances are its journal's sums, and the two
    backends hold the same money in the same accounts."""
    sqlite, postgres = (ledger.raw for ledger in world.ledgers)
    for raw in (sqlite, postgres):
        assert raw.stored_balances() == raw.entry_sums(), "balances drifted from the journal"
    assert by_account(sqlite.stored_balances()) == by_account(postgres.stored_balances())


def property_settings(test: Callable[..., None]) -> Callable[..., None]:
    # The module's ledgers are shared on purpose: every case uses fresh keys, and the state
    # it leaves behind is the same on both backends, which is what the property compares.
    return settings(max_examples=EXAMPLES_MAX, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])(test)


# --- writes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("action", sorted(WRITES))
def test_every_accepted_write_is_applied_or_rejected_alike_on_every_backend(
        world: World, action: str) -> None:
    route, fields_of, sender = WRITES[action]

    @property_settings
    @given(fields=fields_of, encoding=ENCODINGS)
    def case(fields: Fields, encoding: str) -> None:
        note(f"{action} as {encoding}: {fields!r}")
        settled = world.write(action, route, fields, sender, encoding)
        outcome = settled.outcome
        if isinstance(outcome, TransactionCommitted | HoldUpdated) and encoded(
                fields, encoding).exact:
            assert labels_of(outcome) == sent_labels(fields), "labels must read back as sent"
        world.canary()

    case()
    assert_same_money(world)


@pytest.mark.parametrize("action", ["hold_capture", "hold_void"])
def test_every_accepted_capture_and_void_of_a_real_hold_is_decided_alike(
        world: World, action: str) -> None:
    fields_of = CAPTURE if action == "hold_capture" else VOID
    verb = action.removeprefix("hold_")

    @property_settings
    @given(fields=fields_of, encoding=ENCODINGS, data=st.data())
    def case(fields: Fields | None, encoding: str, data: st.DataObject) -> None:
        hold = committed(world.write("hold_place", "POST /wallet/holds",
                                     {"userId": CAPTURER, "amount": HOLD_AMOUNT}, OPERATOR))
        hold_id = data.draw(texts(st.just(hold)), label="hold id")
        note(f"{action} of {hold_id!r} as {encoding}: {fields!r}")
        world.write(action, f"POST /wallet/holds/{{id}}/{verb}", fields, OPERATOR, encoding,
                    {"id": hold_id})
        world.canary()

    case()
    assert_same_money(world)


# --- reads ----------------------------------------------------------------------------------

QUERY_NAMES = ["currency", "type", "from", "to", "cursor", "limit", "order", "sort",
               "minAmount", "maxAmount", "reference", "metadata", "metadata.note", "at",
               "status", "userId", "request"]
QUERY_VALUES = ["USD", "usd", "EUR", FULLWIDTH_USD, "deposit", "payout", "transfer_in", "capture",
                "2026-03-14", "2026-03-14T15:09:26Z", "1970-01-01", "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-01:00", "0", "1", "200", "201", "10.50", "asc", "desc",
                "time", "amount", "held", "captured", READER, READER_REFERENCE,
                *READER_METADATA.values()]
QUERY = st.dictionaries(
    texts(st.sampled_from(QUERY_NAMES),
          st.builds("metadata.".__add__, texts(st.from_regex(METADATA_KEY, fullmatch=True)))),
    texts(st.sampled_from(QUERY_VALUES), RULED_TEXT), max_size=5)
PATH_USER = texts(st.just(READER), st.from_regex(USER_ID, fullmatch=True))


@dataclass(frozen=True)
class Read:
    action: str
    route: str
    path: dict[str, str]
    query: dict[str, str]
    reader: str  # whose token sends it


def reads(world: World) -> st.SearchStrategy[Read]:
    routes = st.sampled_from([
        ("history", "GET /wallet/history/{userId}", {"userId": PATH_USER}),
        ("history", "GET /wallet/history", {}),
        ("balance", "GET /wallet/balance/{userId}", {"userId": PATH_USER}),
        ("holds", "GET /wallet/holds", {}),
        ("holds", "GET /wallet/holds/{id}", {"id": texts(st.just(world.reader_hold))}),
        ("transaction", "GET /wallet/transactions/{id}",
         {"id": texts(st.just(world.reader_deposit))}),
    ])
    return routes.flatmap(lambda route: st.builds(
        Read, st.just(route[0]), st.just(route[1]), st.fixed_dictionaries(route[2]), QUERY,
        st.sampled_from([OPERATOR, READER])))


def stable(value: Any) -> Any:
    """The answer without what each backend makes its own (instants, cursors)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [stable(item) for item in value]
    return value


def test_every_read_answers_200_or_a_4xx_envelope_alike_on_every_backend(world: World) -> None:
    @property_settings
    @given(read=reads(world))
    def case(read: Read) -> None:
        note(repr(read))
        answers = []
        for ledger in world.ledgers:
            event = {"routeKey": read.route, "pathParameters": read.path,
                     "queryStringParameters": read.query,
                     "headers": {"authorization": f"Bearer {ledger.token(read.reader)}"}}
            answer = ledger.call(read.action, event)
            if answer.status != 200:
                assert_refused(answer)
            answers.append(answer)
        first, second = answers
        assert first.status == second.status, f"SQLite {first} != PostgreSQL {second}"
        assert stable(first.body) == stable(second.body)

    case()
