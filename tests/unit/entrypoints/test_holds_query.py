"""entrypoints/holds_query.py: whose holds, which status, and a cursor bound to the query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from wallet.domain.access import Principal
from wallet.domain.errors import ValidationError
from wallet.domain.holds import HOLD_STATUSES, Hold
from wallet.entrypoints.history_query import LIMIT_DEFAULT, history_filters
from wallet.entrypoints.history_query import next_cursor as history_cursor
from wallet.entrypoints.holds_query import holds_query, next_cursor
from wallet.entrypoints.request import Request
from wallet.service_layer.ports import HistoryEntry, StoredHold

from ..fakes import ALICE, BOB, NOW, OPERATOR, bearer, rules

HOLD = Hold("h", "alice", "USD", 100, "held", 0, NOW + timedelta(days=7), NOW, NOW)


def listing(caller: Principal, **query: str) -> Request:
    return Request({"queryStringParameters": query, "headers": bearer(caller)}, rules())


def refused(field: str, caller: Principal = ALICE, **query: str) -> None:
    with pytest.raises(ValidationError) as caught:
        holds_query(listing(caller, **query))
    assert caught.value.field == field


def issued(caller: Principal, seq: int, **query: str) -> str:
    request = listing(caller, **query)
    return next_cursor(request, holds_query(request), [StoredHold(seq, HOLD)])


def test_a_user_without_a_user_id_lists_their_own_holds() -> None:
    query = holds_query(listing(ALICE))
    assert (query.account_id, query.limit, query.status, query.after_seq) == (
        "alice", LIMIT_DEFAULT, None, None)


def test_an_operator_without_a_user_id_lists_every_users_holds() -> None:
    assert holds_query(listing(OPERATOR)).account_id is None


def test_a_user_id_names_the_wallet_whoever_asks() -> None:
    """Authorisation is the service's: the edge only reads which wallet was asked for."""
    assert holds_query(listing(ALICE, userId="bob")).account_id == "bob"
    refused("userId", userId="system:payouts")


@pytest.mark.parametrize("status", HOLD_STATUSES)
def test_each_status_may_be_chosen(status: str) -> None:
    assert holds_query(listing(ALICE, status=status)).status == status


@pytest.mark.parametrize("status", ["active", "HELD", ""])
def test_an_unknown_status_is_refused(status: str) -> None:
    refused("status", status=status)


@pytest.mark.parametrize("limit", ["0", "201", "x"])
def test_a_limit_out_of_bounds_is_refused(limit: str) -> None:
    refused("limit", limit=limit)


def test_a_cursor_round_trips_to_the_last_holds_seq() -> None:
    cursor = issued(ALICE, 41, status="held")
    assert holds_query(listing(ALICE, status="held", cursor=cursor)).after_seq == 41


@pytest.mark.parametrize(("caller", "query"), [
    (BOB, {"status": "held"}),  # another user
    (OPERATOR, {"status": "held", "userId": "alice"}),  # another caller on the same wallet
    (ALICE, {"status": "voided"}), (ALICE, {}), (ALICE, {"status": "held", "userId": "bob"}),
])
def test_a_cursor_is_refused_for_any_other_query(
        caller: Principal, query: dict[str, str]) -> None:
    refused("cursor", caller, cursor=issued(ALICE, 41, status="held"), **query)


def test_a_history_cursor_pages_no_holds() -> None:
    request = Request({"pathParameters": {"userId": "alice"}, "queryStringParameters": {},
                       "headers": bearer(ALICE)}, rules())
    entry = HistoryEntry(41, "t", "deposit", "USD", 1, 1, None, NOW)
    refused("cursor", cursor=history_cursor(request, history_filters(request), [entry]))
