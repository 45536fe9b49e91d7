"""entrypoints/history_query.py: filters, ordering and the opaque cursor."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from wallet.domain.access import Principal
from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.domain.money import ExactDecimal
from wallet.entrypoints import cursor as cursors
from wallet.entrypoints.history_query import LIMIT_DEFAULT, history_filters, next_cursor
from wallet.entrypoints.request import Request
from wallet.service_layer.ports import HistoryEntry
from wallet.service_layer.wallet import HistoryFilters

from ..fakes import ALICE, BOB, NOW, OPERATOR, bearer, rules


def filters(user_id: str = "alice", **query: str) -> HistoryFilters:
    return history_filters(paged(ALICE, user_id, **query))


def refused(field: str, **query: str) -> None:
    with pytest.raises(ValidationError) as caught:
        filters(**query)
    assert caught.value.field == field


def entry(seq: int) -> HistoryEntry:
    return HistoryEntry(seq, "t", "deposit", "USD", 1, 1, None, NOW)


def encoded(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_no_query_means_the_defaults() -> None:
    result = filters()
    query = result.query
    assert (query.account_id, query.limit, query.after_seq, query.ascending) == (
        "alice", LIMIT_DEFAULT, None, False)
    assert (query.entry_type, query.currency, query.created_from, query.created_to) == (
        None, None, None, None)
    assert (result.amount_min, result.amount_max) == (None, None)


@pytest.mark.parametrize("seq", [1, 42, 10**6, BALANCE_MINOR_MAX])
def test_a_cursor_round_trips_to_the_last_entrys_seq(seq: int) -> None:
    cursor = issued(ALICE, "alice", entry(seq))
    assert "=" not in cursor
    assert filters(cursor=cursor).query.after_seq == seq


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!!", "\u00e9t\u00e9", encoded(b"x12"), encoded(b"s"), encoded(b"s-1"),
     encoded(b"s1 "), encoded(b"s12a"), encoded(b"\xff\xfe"), encoded(b"s" + b"1" * 20)],
)
def test_a_tampered_cursor_is_refused(cursor: str) -> None:
    refused("cursor", cursor=cursor)


def test_a_cursor_past_any_storable_seq_is_refused() -> None:
    """`s9999999999999999999` fits the 19-digit pattern but not a 64-bit column.

    Bound as a parameter it raises OverflowError in SQLite (bigint out of range
    in PostgreSQL), so a forged cursor ends as a 500 instead of a 400.
    """
    refused("cursor", cursor=encoded(b"s" + b"9" * 19))


@pytest.mark.parametrize(("raw", "limit"), [("1", 1), ("50", 50), ("200", 200)])
def test_a_limit_from_1_to_200_is_used(raw: str, limit: int) -> None:
    assert filters(limit=raw).query.limit == limit


@pytest.mark.parametrize("raw", ["0", "201", "-1", "abc", "1.5", "", " 5", "1e2"])
def test_a_limit_out_of_bounds_is_refused(raw: str) -> None:
    refused("limit", limit=raw)


@pytest.mark.parametrize("raw", ["\u00b2", "\u2460"])
def test_a_limit_in_non_ascii_digits_is_refused(raw: str) -> None:
    """str.isdigit() accepts '²', and int('²') then raises ValueError: a 500, not a 400."""
    refused("limit", limit=raw)


@pytest.mark.parametrize("entry_type", ["deposit", "payout", "transfer_in", "transfer_out"])
def test_each_entry_type_may_be_chosen(entry_type: str) -> None:
    assert filters(type=entry_type).query.entry_type == entry_type


@pytest.mark.parametrize("entry_type", ["transfer", "DEPOSIT", "", "withdrawal"])
def test_an_unknown_entry_type_is_refused(entry_type: str) -> None:
    refused("type", type=entry_type)


@pytest.mark.parametrize(("order", "ascending"), [("asc", True), ("desc", False)])
def test_the_order_may_be_chosen(order: str, ascending: bool) -> None:
    assert filters(order=order).query.ascending is ascending


@pytest.mark.parametrize("order", ["ASC", "up", ""])
def test_an_unknown_order_is_refused(order: str) -> None:
    refused("order", order=order)


def test_the_currency_filter_is_normalised() -> None:
    assert filters(currency="eur").query.currency == "EUR"


def test_an_unknown_currency_is_refused() -> None:
    refused("currency", currency="XXX")


@pytest.mark.parametrize(
    ("field", "raw", "moment"),
    [
        ("from", "2026-11-25", datetime(2026, 11, 25, tzinfo=UTC)),
        ("to", "2026-11-25", datetime(2026, 11, 25, 23, 59, 59, 999999, tzinfo=UTC)),
        ("from", "2026-11-25T10:00:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("to", "2026-11-25T10:00:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("from", "2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("from", "2026-11-25T10:00:00.5+01:00",
         datetime(2026, 11, 25, 10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=1)))),
        ("from", "2026-11-25T10:00:00 01:00",  # a "+" the query string decoded as a space
         datetime(2026, 11, 25, 10, tzinfo=timezone(timedelta(hours=1)))),
        ("to", "2026-11-25T10:00:00-05:00",
         datetime(2026, 11, 25, 10, tzinfo=timezone(timedelta(hours=-5)))),
    ],
)
def test_from_and_to_are_parsed(field: str, raw: str, moment: datetime) -> None:
    query = filters(**{field: raw}).query
    parsed = query.created_from if field == "from" else query.created_to
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0), "the edge hands on UTC, where the store compares"


def test_a_bare_to_date_in_basic_format_covers_the_whole_day() -> None:
    """ISO 8601 also writes the date 2026-11-25 as 20261125; datetime.fromisoformat takes it
    as midnight, so `to=20261125` would drop the rest of that day."""
    assert filters(to="20261125").query.created_to == datetime(
        2026, 11, 25, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize("field", ["from", "to"])
@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "2026-11-31", "25/11/2026", ""])
def test_a_bad_date_is_refused(field: str, raw: str) -> None:
    refused(field, **{field: raw})


@pytest.mark.parametrize("field", ["minAmount", "maxAmount"])
def test_amount_bounds_are_parsed_once_into_exact_decimals(field: str) -> None:
    result = filters(**{field: "10.50"})
    bound = result.amount_min if field == "minAmount" else result.amount_max
    assert bound == ExactDecimal(105, 1)


@pytest.mark.parametrize("field", ["minAmount", "maxAmount"])
@pytest.mark.parametrize("raw", ["-1", "1e2", "abc", "", ".5", "1.", "1" * 21])
def test_a_bad_amount_bound_is_refused(field: str, raw: str) -> None:
    refused(field, **{field: raw})


def test_the_path_user_id_is_validated() -> None:
    with pytest.raises(ValidationError) as caught:
        filters(user_id="system:deposits")
    assert caught.value.field == "userId"


def test_without_a_user_in_the_path_the_query_spans_every_wallet() -> None:
    event = {"pathParameters": None, "queryStringParameters": None}
    assert history_filters(Request(event, rules())).query.account_id is None


def test_sort_is_time_by_default_or_amount() -> None:
    assert filters().query.by_amount is False
    assert filters(sort="time").query.by_amount is False
    assert filters(sort="amount").query.by_amount is True
    refused("sort", sort="size")


def test_an_amount_cursor_carries_the_amount_and_seq_of_the_last_entry() -> None:
    last = HistoryEntry(77, "t", "deposit", "USD", 12_345, 1, None, NOW)
    cursor = issued(ALICE, "alice", last, sort="amount")
    query = filters(sort="amount", cursor=cursor).query
    assert (query.after_amount_minor, query.after_seq) == (12_345, 77)


def test_a_cursor_is_refused_under_the_other_sort() -> None:
    by_time = issued(ALICE, "alice", entry(5))
    by_amount = issued(ALICE, "alice", entry(5), sort="amount")
    refused("cursor", sort="amount", cursor=by_time)
    refused("cursor", cursor=by_amount)
    refused("cursor", sort="amount", cursor=encoded(b"a1."))


@pytest.mark.parametrize(("field", "raw"), [
    ("from", "0001-01-01T00:00:00+01:00"), ("to", "0001-01-01T00:00:00+01:00"),
    ("from", "9999-12-31T23:59:59-01:00"), ("to", "9999-12-31T23:59:59-01:00"),
])
def test_a_date_time_beyond_the_calendar_in_utc_is_refused_naming_the_field(
        field: str, raw: str) -> None:
    refused(field, **{field: raw})


def test_the_last_day_of_the_calendar_covers_its_whole_day() -> None:
    query = filters(**{"from": "9999-12-31", "to": "9999-12-31"}).query
    assert query.created_from == datetime(9999, 12, 31, tzinfo=UTC)
    assert query.created_to == datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


# --- issue 8: cursors are signed and bound to the query that issued them ---------------------


def paged(caller: Principal, user_id: str | None, **query: str) -> Request:
    path = None if user_id is None else {"userId": user_id}
    return Request({"pathParameters": path, "queryStringParameters": query,
                    "headers": bearer(caller)}, rules())


def issued(caller: Principal, user_id: str | None, last: HistoryEntry, **query: str) -> str:
    """The nextCursor the API gives `caller` for this query, after a page ending at `last`."""
    request = paged(caller, user_id, **query)
    return next_cursor(request, history_filters(request), [last])


def test_a_signed_cursor_round_trips_for_the_same_query() -> None:
    query = {"sort": "amount", "order": "asc", "type": "deposit", "currency": "USD",
             "from": "2026-01-01", "to": "2026-12-31", "minAmount": "1", "maxAmount": "9.5"}
    cursor = issued(ALICE, "alice", entry(7), **query)
    assert "=" not in cursor and base64.urlsafe_b64decode(cursor + "==")
    parsed = history_filters(paged(ALICE, "alice", cursor=cursor, **query)).query
    assert (parsed.after_seq, parsed.after_amount_minor) == (7, 1)


def test_a_forged_cursor_is_refused() -> None:
    for forged in (encoded(b"s5"), encoded(b"a1.5"), encoded(b"\x00" * 16 + b"s5")):
        with pytest.raises(ValidationError) as caught:
            history_filters(paged(ALICE, "alice", cursor=forged))
        assert caught.value.field == "cursor"


@pytest.mark.parametrize(("caller", "user_id", "query"), [
    (BOB, "bob", {}),  # another user
    (OPERATOR, "alice", {}),  # another caller on the same wallet
    (ALICE, "alice", {"sort": "amount"}), (ALICE, "alice", {"order": "asc"}),
    (ALICE, "alice", {"type": "payout"}), (ALICE, "alice", {"currency": "EUR"}),
    (ALICE, "alice", {"from": "2026-01-01"}), (ALICE, "alice", {"to": "2026-01-01"}),
    (ALICE, "alice", {"minAmount": "1"}), (ALICE, "alice", {"maxAmount": "1"}),
])
def test_a_cursor_is_refused_for_any_other_query(
        caller: Principal, user_id: str, query: dict[str, str]) -> None:
    cursor = issued(ALICE, "alice", entry(7))
    with pytest.raises(ValidationError) as caught:
        history_filters(paged(caller, user_id, cursor=cursor, **query))
    assert caught.value.field == "cursor"


def test_an_operators_cursor_for_one_wallet_is_refused_for_every_wallet() -> None:
    cursor = issued(OPERATOR, "alice", entry(7))
    with pytest.raises(ValidationError):
        history_filters(paged(OPERATOR, None, cursor=cursor))
    with pytest.raises(ValidationError):
        history_filters(paged(OPERATOR, "bob", cursor=cursor))


# --- issue 12: labels are exact-match filters, checked as a write's are, and bound -----------


def test_reference_and_metadata_filters_become_sorted_labels() -> None:
    query = filters(**{"reference": "order-7", "metadata.shop": "north",
                       "metadata.channel": "web"}).query
    assert query.labels == (("metadata.channel", "web"), ("metadata.shop", "north"),
                            ("reference", "order-7"))


def test_no_label_filter_means_no_labels() -> None:
    assert filters().query.labels == ()


@pytest.mark.parametrize(("field", "query"), [
    ("reference", {"reference": ""}),
    ("reference", {"reference": "x" * 129}),
    ("reference", {"reference": "tab\there"}),
    ("metadata.shop", {"metadata.shop": "v" * 257}),
    ("metadata.bad key", {"metadata.bad key": "v"}),
    ("metadata.", {"metadata.": "v"}),
    ("metadata", {"metadata": "shop=north"}),
    ("metadata", {f"metadata.k{i}": "v" for i in range(17)}),
])
def test_a_label_filter_no_transaction_could_match_is_refused_naming_it(
        field: str, query: dict[str, str]) -> None:
    refused(field, **query)


@pytest.mark.parametrize("query", [
    {}, {"reference": "other"}, {"reference": "order-7", "metadata.shop": "north"},
    {"metadata.shop": "north"},
])
def test_a_cursor_is_bound_to_its_labels(query: dict[str, str]) -> None:
    cursor = issued(ALICE, "alice", entry(7), reference="order-7")
    assert filters(reference="order-7", cursor=cursor).query.after_seq == 7
    with pytest.raises(ValidationError) as caught:
        history_filters(paged(ALICE, "alice", cursor=cursor, **query))
    assert caught.value.field == "cursor"


def test_a_cursor_issued_before_labels_existed_still_pages() -> None:
    """Cursors live in clients: one signed over the query without labels must stay valid."""
    request = paged(ALICE, "alice")
    old_scope = ["alice", False, False, None, None, None, None, None, None]
    old = cursors.issue(request, old_scope, "s7")
    assert filters(cursor=old).query.after_seq == 7
