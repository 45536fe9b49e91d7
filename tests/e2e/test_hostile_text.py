"""Issue 17's requests, replayed over HTTP on both configurations (embedded, and Kafka +
PostgreSQL + Redis): text one backend cannot store, queries one backend cannot compare,
and bodies that one route read and another ignored. Each answers a 4xx in the envelope,
the same on both backends, and the ledger keeps committing."""

import httpx
import pytest

from tests.e2e.holds import OPERATOR, capture, error_of, funded, hold, placed
from tests.e2e.server import auth, unique

JSON = {"content-type": "application/json"}
# JSON text, sent as bytes so no client library re-encodes the escape.
ESCAPES = ["\\udfff", "\\ud800", "\\u0000", "\\u001b", "\\u0085", "a\\udfffb"]


def body(**fields: str) -> bytes:
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()


def writes(user: str, other: str, note: str) -> dict[str, bytes]:
    metadata = f'{{"note": "{note}"}}'
    return {
        "/wallet/deposit": body(userId=f'"{user}"', amount='"1"', metadata=metadata),
        "/wallet/payout": body(userId=f'"{user}"', amount='"1"', metadata=metadata),
        "/wallet/transfer": body(fromUserId=f'"{user}"', toUserId=f'"{other}"', amount='"1"',
                                 metadata=metadata),
        "/wallet/holds": body(userId=f'"{user}"', amount='"1"', metadata=metadata),
    }


def committed_canary(api: httpx.Client) -> None:
    """A write after the hostile one commits at once: the ledger did not stall."""
    response = api.post("/wallet/deposit", json={"userId": unique("canary"), "amount": "1"},
                        headers=OPERATOR)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("escape", ESCAPES)
def test_text_no_backend_could_store_is_refused_at_the_edge_on_every_write(
        api: httpx.Client, escape: str) -> None:
    user, other = funded(api, "10.00"), unique("other")
    for path, sent in writes(user, other, escape).items():
        response = api.post(path, content=sent, headers={**auth(user), **JSON})
        assert error_of(response) == (400, "validation_error", "metadata.note"), (path, sent)
        sent_reference = sent.replace(b'"metadata"', b'"reference"').replace(
            b'{"note": "' + escape.encode() + b'"}', b'"' + escape.encode() + b'"')
        response = api.post(path, content=sent_reference, headers={**auth(user), **JSON})
        assert error_of(response) == (400, "validation_error", "reference"), sent_reference
    committed_canary(api)
    assert api.get(f"/wallet/balance/{user}", headers=auth(user)).json()["balance"] == "10.00"


@pytest.mark.parametrize("query", [
    "metadata.x=%00", "metadata.x=%C2%85", "reference=%00", "reference=a%0Ab",
    "metadata.%00=x", "currency=%00", "type=%00", "cursor=%00", "from=%00",
])
def test_a_query_parameter_follows_the_same_rule_on_both_backends(
        api: httpx.Client, query: str) -> None:
    user = funded(api, "1.00")
    response = api.get(f"/wallet/history/{user}?{query}", headers=auth(user))
    status, code, _ = error_of(response)
    assert (status, code) == (400, "validation_error"), response.text
    for path in (f"/wallet/balance/{user}?{query}", f"/wallet/holds?userId={user}&{query}",
                 f"/wallet/history?{query}"):
        answer = api.get(path, headers=OPERATOR)
        assert answer.status_code == 400, (path, answer.text)
    committed_canary(api)


@pytest.mark.parametrize("segment", ["%00", "a%00b", "%C2%9F"])
def test_a_path_parameter_no_backend_could_compare_is_a_4xx(
        api: httpx.Client, segment: str) -> None:
    for path in (f"/wallet/transactions/{segment}", f"/wallet/holds/{segment}",
                 f"/wallet/balance/{segment}"):
        response = api.get(path, headers=OPERATOR)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.json()["error"]["code"], response.text


def test_void_reads_its_body_as_capture_does(api: httpx.Client) -> None:
    user = funded(api, "10.00")
    placed_hold = placed(api, user, "4.00")
    path = f"/wallet/holds/{placed_hold['id']}"
    for action in ("void", "capture"):
        xml = api.post(f"{path}/{action}", content=b"<void/>",
                       headers={**auth(user), "content-type": "text/xml"})
        assert error_of(xml)[:2] == (415, "unsupported_media_type"), (action, xml.text)
        broken = api.post(f"{path}/{action}", content=b"not json",
                          headers={**auth(user), **JSON})
        assert error_of(broken) == (400, "validation_error", "body"), (action, broken.text)
    stray = api.post(f"{path}/void", json={"amount": "1"}, headers=auth(user))
    assert error_of(stray) == (400, "validation_error", "amount")
    assert hold(api, user, placed_hold["id"])["status"] == "held", "nothing was voided"
    assert api.post(f"{path}/void", headers=auth(user)).status_code == 200


@pytest.mark.parametrize("field", ["amount", "currency"])
def test_an_explicit_null_never_means_take_it_all(api: httpx.Client, field: str) -> None:
    user = funded(api, "10.00")
    placed_hold = placed(api, user, "4.00")
    refused = capture(api, user, placed_hold["id"], **{field: None})
    assert error_of(refused) == (400, "validation_error", field), refused.text
    assert hold(api, user, placed_hold["id"])["status"] == "held"
    deposit = api.post("/wallet/deposit", json={"userId": user, "amount": "1", field: None},
                       headers=auth(user))
    assert error_of(deposit) == (400, "validation_error", field)


def test_readiness_is_ok_while_the_ledger_applies(api: httpx.Client) -> None:
    committed_canary(api)
    assert api.get("/healthz").json() == {"status": "ok"}
