"""functions/audit_verify and functions/hold_expiry: their handlers, over fakes.

Loaded by file path, as the local runtime and `sam local` load every function.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wallet import bootstrap
from wallet.domain.access import Principal

from .fakes import ALICE, OPERATOR, bearer, container, stack
from .service_layer.test_audit import JournalStore, journal_of

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"test_function_{name}",
                                                  FUNCTIONS / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store() -> Iterator[JournalStore]:
    made = JournalStore()
    made.add("alice", journal_of("alice", [500, -200]))
    made.add("bob", journal_of("bob", [100]))
    bootstrap.install(container(wallet=stack(store=made).service))
    yield made
    bootstrap.install(None)


def verify(principal: Principal | None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    event = {"headers": bearer(principal) if principal else {}, "queryStringParameters": query}
    result = load("audit_verify").handler(event, None)
    return result["statusCode"], json.loads(result["body"])


def test_an_operator_gets_the_report_of_every_account(store: JournalStore) -> None:
    assert verify(OPERATOR) == (200, {"accountsChecked": 2, "entriesChecked": 3, "problems": []})


def test_an_operator_may_check_one_user(store: JournalStore) -> None:
    assert verify(OPERATOR, {"userId": "bob"}) == (
        200, {"accountsChecked": 1, "entriesChecked": 1, "problems": []})


def test_a_tampered_entry_is_reported_with_200(store: JournalStore) -> None:
    store.accounts["bob", "USD"] = replace(store.accounts["bob", "USD"], balance_minor=150)
    status, body = verify(OPERATOR)
    assert status == 200
    assert [(p["code"], p["account"]) for p in body["problems"]] == [("balance_mismatch", "bob")]


def test_a_user_is_refused_before_their_query_is_read(store: JournalStore) -> None:
    for query in (None, {"userId": "alice"}, {"userId": "not a user!"}):
        status, body = verify(ALICE, query)
        assert (status, body["error"]["code"]) == (403, "forbidden")


def test_no_token_is_401(store: JournalStore) -> None:
    status, body = verify(None)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_a_malformed_user_id_is_400_naming_it(store: JournalStore) -> None:
    status, body = verify(OPERATOR, {"userId": "a:b"})
    assert (status, body["error"]["field"]) == (400, "userId")


def test_the_scheduled_sweep_runs_bounded_batches_and_says_how_many_it_appended() -> None:
    asked: list[int] = []

    def sweep_holds(batches_max: int) -> int:
        asked.append(batches_max)
        return 7

    module = load("hold_expiry")
    bootstrap.install(container(sweep_holds=sweep_holds))
    try:
        assert module.handler({"source": "aws.events"}, None) == {"expiriesAppended": 7}
    finally:
        bootstrap.install(None)
    assert asked == [module.SWEEP_BATCHES_MAX]
