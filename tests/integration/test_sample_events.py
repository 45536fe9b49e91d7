"""The functions, invoked Lambda-style with captured API Gateway and Kafka event payloads.

Events live in tests/events/ and are loaded by name. Placeholders stand where
a real capture would hold a secret or an id: `{{token:sub:role}}` becomes a
token signed with this test's secret, `{{envelope:kind:user:minor:currency}}`
a base64 command envelope.
"""

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from wallet import bootstrap
from wallet.config import Config
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit, Envelope, Payout, request_hash
from wallet_runtime.functions import CONSUMER, Handler, load_handlers
from wallet_runtime.poller import Poller

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sample-events-secret-" + "s" * 24
_PLACEHOLDER = re.compile(r"\{\{(token|envelope):([^}]*)\}\}")


def load_event(name: str) -> dict[str, Any]:
    text = (ROOT / "tests" / "events" / f"{name}.json").read_text()
    event: dict[str, Any] = json.loads(_PLACEHOLDER.sub(_fill, text))
    return event


def _fill(match: re.Match[str]) -> str:
    kind, arguments = match.group(1), match.group(2).split(":")
    if kind == "token":
        subject, role = arguments
        claims = {"sub": subject, "role": role, "exp": int(time.time()) + 600}
        return jwt.encode(claims, SECRET, algorithm="HS256")
    command_type, user, minor, currency = arguments
    command = {"deposit": Deposit, "payout": Payout}[command_type](user, int(minor), currency)
    envelope = Envelope(f"sample-{command_type}-{user}", request_hash(command), command)
    return base64.b64encode(encode_envelope(envelope)).decode()


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[dict[str, Handler]]:
    config = Config.from_env({"WALLET_DATA_DIR": str(tmp_path), "WALLET_JWT_SECRET": SECRET})
    container = bootstrap.build(config)
    bootstrap.install(container)
    handlers = load_handlers(ROOT / "functions")
    poller = Poller(container.source, handlers[CONSUMER], config.batch_size_max,
                    container.dead_letters)
    poller.start()
    try:
        yield handlers
    finally:
        poller.stop()
        bootstrap.install(None)
        container.close()


def invoke(functions: dict[str, Handler], name: str, event_name: str) -> tuple[int, Any]:
    result = functions[name](load_event(event_name), None)
    return result["statusCode"], json.loads(result.get("body") or "null")


def test_form_deposit_then_json_transfer(functions: dict[str, Handler]) -> None:
    status, body = invoke(functions, "deposit", "deposit_form")
    assert (status, body["amount"], body["userId"]) == (201, "120.25", "sample-alice")
    replay = functions["deposit"](load_event("deposit_form"), None)
    assert replay["headers"]["Idempotent-Replayed"] == "true"
    status, body = invoke(functions, "transfer", "transfer_json")
    assert (status, body["fromBalanceAfter"]) == (201, "100.00")


def test_reads_answer_from_the_store(functions: dict[str, Handler]) -> None:
    invoke(functions, "deposit", "deposit_form")
    status, balance = invoke(functions, "balance", "balance_get")
    assert (status, balance["currency"], balance["balance"]) == (200, "USD", "120.25")
    status, history = invoke(functions, "history", "history_get")
    assert status == 200 and [i["type"] for i in history["items"]] == ["deposit"]


def test_request_id_comes_from_the_gateway(functions: dict[str, Handler]) -> None:
    result = functions["balance"](load_event("balance_get"), None)
    assert result["headers"]["X-Request-Id"] == "Zc1yAhK4oAMEVdS="


def test_kafka_batch_applies_once_even_when_redelivered(functions: dict[str, Handler]) -> None:
    event = load_event("kafka_commands")
    assert functions[CONSUMER](event, None) == {"applied": 2, "batchItemFailures": []}
    assert functions[CONSUMER](event, None) == {"applied": 0, "batchItemFailures": []}
    assert bootstrap.current().store.balances("sample-carol").balances == {"USD": 300}


def test_a_poison_record_in_an_msk_batch_is_reported_and_the_rest_applied(
        functions: dict[str, Handler]) -> None:
    event = load_event("kafka_msk_poison")
    failed = [{"itemIdentifier": {"partition": "wallet.commands-1", "offset": 8}}]
    assert functions[CONSUMER](event, None) == {"applied": 3, "batchItemFailures": failed}
    store = bootstrap.current().store
    assert (store.balances("sample-dave").balances, store.balances("sample-erin").balances) == (
        {"USD": 500}, {"EUR": 250})
    # The event source redelivers from the failed offset on: offset 9 again, applied once.
    from_failed = event["records"]["wallet.commands-1"][1:]
    redelivered = {**event, "records": {"wallet.commands-1": from_failed}}
    assert functions[CONSUMER](redelivered, None) == {"applied": 0, "batchItemFailures": failed}
    assert store.balances("sample-dave").balances == {"USD": 500}


def test_websocket_connect_checks_the_token(functions: dict[str, Handler]) -> None:
    assert functions["ws_relay"](load_event("ws_connect"), None)["statusCode"] == 200
    forged = load_event("ws_connect")
    forged["queryStringParameters"]["token"] = "forged"
    assert functions["ws_relay"](forged, None)["statusCode"] == 401
