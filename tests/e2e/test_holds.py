"""Holds over HTTP, on both configurations: every transition, expiry, races, replays, privacy.

Each test works on wallets of its own, so the session's servers are shared.
"""

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets

from tests.e2e.holds import (
    OPERATOR,
    balance,
    capture,
    error_of,
    figures,
    funded,
    hold,
    moment,
    place,
    placed,
    void,
)
from tests.e2e.server import Server, auth, token, unique, wait_until

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SEVEN_DAYS = timedelta(days=7)
RACERS = 8  # concurrent captures and voids of one hold
PAYOUTS = 20  # concurrent payouts against one wallet's available money
SWEEP_TIMEOUT_S = 15.0  # the sweeper runs every second; generous on a shared machine
EVENT_DEADLINE_S = 5.0


def test_a_placed_hold_takes_its_money_out_of_what_is_available(api: httpx.Client) -> None:
    user = funded(api)
    response = place(api, user, "25")
    assert response.status_code == 201, response.text
    body = response.json()
    assert UUID.fullmatch(body["id"])
    assert {k: v for k, v in body.items() if k not in ("id", "expiresAt", "createdAt",
                                                        "updatedAt")} == {
        "userId": user, "amount": "25.00", "currency": "USD", "status": "held",
        "capturedAmount": "0.00"}
    assert body["updatedAt"] == body["createdAt"]
    assert moment(body["expiresAt"]) - moment(body["createdAt"]) == SEVEN_DAYS
    assert hold(api, user, body["id"]) == body
    read = balance(api, user)
    assert (read["balance"], read["available"], read["held"]) == ("100.00", "75.00", "25.00")
    assert (read["balances"], read["availableBalances"], read["heldBalances"]) == (
        {"USD": "100.00"}, {"USD": "75.00"}, {"USD": "25.00"})


def test_payouts_transfers_and_holds_draw_on_available_money(api: httpx.Client) -> None:
    user = funded(api)
    placed(api, user, "60")
    for path, body in (("/wallet/payout", {"userId": user, "amount": "40.01"}),
                       ("/wallet/transfer", {"fromUserId": user, "toUserId": unique(),
                                             "amount": "40.01"}),
                       ("/wallet/holds", {"userId": user, "amount": "40.01"})):
        refused = api.post(path, json=body, headers=auth(user))
        assert error_of(refused) == (422, "insufficient_funds", None), (path, refused.text)
    assert api.post("/wallet/payout", json={"userId": user, "amount": "40"},
                    headers=auth(user)).status_code == 201
    assert figures(api, user) == ("60.00", "0.00", "60.00")


def test_an_operator_places_a_hold_for_anyone_and_another_user_cannot(
        api: httpx.Client) -> None:
    user = funded(api)
    assert place(api, user, "1", headers=OPERATOR).status_code == 201
    assert error_of(place(api, user, "1", headers=auth(unique())))[:2] == (403, "forbidden")
    assert place(api, user, "1", headers={}).status_code == 401
    assert figures(api, user)[2] == "1.00"


def test_a_partial_capture_pays_out_its_amount_and_releases_the_rest(api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "40", reference="order-1", metadata={"shop": "north"})
    response = capture(api, user, held["id"], amount="15")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"hold", "transaction"}
    assert (body["hold"]["status"], body["hold"]["capturedAmount"], body["hold"]["amount"]) == (
        "captured", "15.00", "40.00")
    transaction = body["transaction"]
    assert {k: v for k, v in transaction.items() if k not in ("id", "createdAt")} == {
        "type": "capture", "status": "committed", "amount": "15.00", "currency": "USD",
        "userId": user, "balanceAfter": "85.00", "holdId": held["id"], "reference": "order-1",
        "metadata": {"shop": "north"}}
    assert body["hold"]["updatedAt"] == transaction["createdAt"]
    assert figures(api, user) == ("85.00", "85.00", "0.00")
    assert hold(api, user, held["id"]) == body["hold"]
    items = api.get(f"/wallet/history/{user}", params={"type": "capture"},
                    headers=auth(user)).json()["items"]
    assert [(i["id"], i["amount"], i["holdId"]) for i in items] == [
        (transaction["id"], "15.00", held["id"])]


def test_a_capture_without_an_amount_takes_the_whole_hold(api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "30", currency="usd")
    body = api.post(f"/wallet/holds/{held['id']}/capture", headers=auth(user)).json()
    assert (body["hold"]["capturedAmount"], body["transaction"]["amount"]) == ("30.00", "30.00")
    assert figures(api, user) == ("70.00", "70.00", "0.00")


def test_a_capture_above_the_hold_or_in_another_currency_is_refused_and_changes_nothing(
        api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "10")
    assert error_of(capture(api, user, held["id"], amount="10.01")) == (
        422, "amount_exceeds_hold", None)
    assert error_of(capture(api, user, held["id"], amount="1", currency="EUR")) == (
        400, "validation_error", "currency")
    assert error_of(capture(api, user, held["id"], amount="0"))[2] == "amount"
    assert error_of(capture(api, user, held["id"], amount="1.001"))[2] == "amount"
    assert hold(api, user, held["id"])["status"] == "held"
    assert figures(api, user) == ("100.00", "90.00", "10.00")


def test_a_void_releases_the_hold_and_nothing_acts_on_it_again(api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "10")
    response = void(api, user, held["id"])
    assert response.status_code == 200, response.text
    voided = response.json()
    assert (voided["status"], voided["capturedAmount"], voided["id"]) == (
        "voided", "0.00", held["id"])
    assert figures(api, user) == ("100.00", "100.00", "0.00")
    for again in (void(api, user, held["id"]), capture(api, user, held["id"])):
        assert error_of(again) == (409, "hold_not_active", None), again.text
    assert hold(api, user, held["id"]) == voided


def test_a_captured_hold_cannot_be_captured_or_voided_again(api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "10")
    assert capture(api, user, held["id"], amount="4").status_code == 201
    for again in (capture(api, user, held["id"], amount="1"), void(api, user, held["id"])):
        assert error_of(again) == (409, "hold_not_active", None)
    assert figures(api, user) == ("96.00", "96.00", "0.00")


def past_expiry(held: dict[str, Any]) -> None:
    """Waits, by bounded polling of the clock, until the hold's expiresAt has passed."""
    expires = moment(held["expiresAt"])
    wait_until(lambda: datetime.now(UTC) > expires + timedelta(milliseconds=50),
               timeout_s=5, interval_s=0.05)


def test_a_hold_expires_by_itself_and_releases_its_money(api: httpx.Client) -> None:
    """No other command touches the wallet: the sweeper alone expires the hold."""
    user = funded(api)
    held = placed(api, user, "10", expiresInSeconds=1)
    assert moment(held["expiresAt"]) - moment(held["createdAt"]) == timedelta(seconds=1)
    wait_until(lambda: hold(api, user, held["id"])["status"] == "expired",
               timeout_s=SWEEP_TIMEOUT_S, interval_s=0.1)
    expired = hold(api, user, held["id"])
    assert moment(expired["updatedAt"]) >= moment(held["expiresAt"])
    assert expired["capturedAmount"] == "0.00"
    assert figures(api, user) == ("100.00", "100.00", "0.00")
    assert error_of(capture(api, user, held["id"])) == (409, "hold_not_active", None)


def test_a_due_hold_expires_before_the_next_command_on_its_wallet(api: httpx.Client) -> None:
    """Whoever asks first, sweeper or command: in order, the hold ends before the capture."""
    user = funded(api)
    held = placed(api, user, "10", expiresInSeconds=1)
    past_expiry(held)
    assert error_of(capture(api, user, held["id"])) == (409, "hold_not_active", None)
    assert hold(api, user, held["id"])["status"] == "expired"
    assert api.post("/wallet/payout", json={"userId": user, "amount": "100"},
                    headers=auth(user)).status_code == 201
    assert figures(api, user) == ("0.00", "0.00", "0.00")


async def settle(client: httpx.AsyncClient, response: httpx.Response,
                 headers: dict[str, str]) -> tuple[int, Any]:
    """A late write (202) is followed to its outcome, so each racer has a final answer."""
    if response.status_code != 202:
        return response.status_code, response.json()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = (await client.get(response.headers["Location"], headers=headers)).json()
        if polled.get("status") != "pending":
            code = polled["error"]["code"] if polled.get("status") == "rejected" else None
            return (409 if code == "hold_not_active" else 200), polled
        await asyncio.sleep(0.05)  # bounded: the deadline above
    raise AssertionError("a late write never settled")


def test_of_concurrent_captures_and_voids_of_one_hold_exactly_one_wins(server: Server) -> None:
    async def race(user: str, hold_id: str) -> list[tuple[int, Any]]:
        headers = auth(user)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            async def one(n: int) -> tuple[int, Any]:
                action = "capture" if n % 2 else "void"
                body = {"amount": "3"} if action == "capture" else None
                response = await client.post(f"/wallet/holds/{hold_id}/{action}", json=body,
                                             headers=headers)
                return await settle(client, response, headers)
            return await asyncio.gather(*(one(n) for n in range(RACERS)))

    with httpx.Client(base_url=server.url, timeout=30) as api:
        for _ in range(3):
            user = funded(api)
            held = placed(api, user, "10")
            answers = asyncio.run(race(user, held["id"]))
            statuses = Counter(status for status, _ in answers)
            assert statuses[409] == RACERS - 1 and len(statuses) == 2, answers
            (winner,) = [body for status, body in answers if status != 409]
            assert all(body["error"]["code"] == "hold_not_active" for status, body in answers
                       if status == 409)
            captured = "transaction" in winner
            final = hold(api, user, held["id"])
            assert final["status"] == ("captured" if captured else "voided")
            assert figures(api, user) == (("97.00" if captured else "100.00"),) * 2 + ("0.00",)


def test_concurrent_payouts_and_holds_never_spend_held_money(server: Server) -> None:
    """Twenty payouts and holds of 5 race for the 40 a hold of 60 leaves: exactly 8 fit."""
    async def burst(user: str) -> list[tuple[str, int]]:
        headers = auth(user)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            async def one(n: int) -> tuple[str, int]:
                path = "/wallet/payout" if n % 2 else "/wallet/holds"
                response = await client.post(path, json={"userId": user, "amount": "5"},
                                             headers=headers)
                assert response.status_code in (201, 422), response.text
                return path, response.status_code
            return await asyncio.gather(*(one(n) for n in range(PAYOUTS)))

    with httpx.Client(base_url=server.url, timeout=30) as api:
        user = funded(api)
        placed(api, user, "60")
        answers = asyncio.run(burst(user))
        won = Counter(path for path, status in answers if status == 201)
        assert sum(won.values()) == 8, answers
        assert figures(api, user) == (f"{100 - 5 * won['/wallet/payout']}.00", "0.00",
                                      f"{60 + 5 * won['/wallet/holds']}.00")


def test_a_retried_hold_write_replays_its_answer_and_applies_once(api: httpx.Client) -> None:
    user = funded(api)
    headers = {**auth(user), "Idempotency-Key": unique("key")}
    first = place(api, user, "10", headers=headers)
    again = place(api, user, "10", headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert figures(api, user)[2] == "10.00"
    assert error_of(place(api, user, "11", headers=headers))[:2] == (409, "idempotency_key_reused")
    hold_id = first.json()["id"]
    captured = [api.post(f"/wallet/holds/{hold_id}/capture", json={"amount": "4"},
                         headers={**auth(user), "Idempotency-Key": "cap"}) for _ in range(2)]
    assert [r.status_code for r in captured] == [201, 201]
    assert captured[1].json() == captured[0].json()
    assert captured[1].headers["Idempotent-Replayed"] == "true"
    other = placed(api, user, "1")
    voided = [api.post(f"/wallet/holds/{other['id']}/void",
                       headers={**auth(user), "Idempotency-Key": "void"}) for _ in range(2)]
    assert [r.status_code for r in voided] == [200, 200]
    assert voided[1].json() == voided[0].json()
    assert voided[1].headers["Idempotent-Replayed"] == "true"
    assert figures(api, user) == ("96.00", "96.00", "0.00")


def test_a_hold_commands_transaction_answers_what_its_write_answered(api: httpx.Client) -> None:
    user = funded(api)
    held = placed(api, user, "10")
    captured = capture(api, user, held["id"], amount="2").json()
    assert api.get(f"/wallet/transactions/{held['id']}", headers=auth(user)).json() == held
    read = api.get(f"/wallet/transactions/{captured['transaction']['id']}", headers=auth(user))
    assert (read.status_code, read.json()) == (200, captured)
    stranger = api.get(f"/wallet/transactions/{held['id']}", headers=auth(unique()))
    assert stranger.status_code == 404


def test_a_hold_is_the_owners_and_operators_and_nobody_elses(api: httpx.Client) -> None:
    user, stranger = funded(api), unique()
    held = placed(api, user, "10")
    for response in (api.get(f"/wallet/holds/{held['id']}", headers=auth(stranger)),
                     capture(api, stranger, held["id"]), void(api, stranger, held["id"]),
                     api.get(f"/wallet/holds/{uuid.uuid4()}", headers=auth(user)),
                     api.get("/wallet/holds/not-a-uuid", headers=auth(user)),
                     void(api, user, "00000000-0000-4000-8000-000000000000")):
        assert error_of(response)[:2] == (404, "not_found"), response.text
        assert held["id"] not in response.text
    assert api.get(f"/wallet/holds/{held['id']}").status_code == 401
    assert api.get(f"/wallet/holds/{held['id']}", headers=OPERATOR).json() == held
    assert api.post(f"/wallet/holds/{held['id']}/void", headers=OPERATOR).status_code == 200


def test_the_holds_list_pages_newest_first_and_filters_by_status(api: httpx.Client) -> None:
    user, stranger = funded(api), funded(api)
    ids = [placed(api, user, amount)["id"] for amount in ("1", "2", "3", "4")]
    void(api, user, ids[1])
    placed(api, stranger, "1")
    pages, params = [], {"limit": "2"}
    while True:
        page = api.get("/wallet/holds", params=params, headers=auth(user))
        assert page.status_code == 200, page.text
        pages.append([h["id"] for h in page.json()["items"]])
        if page.json()["nextCursor"] is None:
            break
        params = {"limit": "2", "cursor": page.json()["nextCursor"]}
    assert pages == [ids[:1:-1], ids[1::-1]]
    held = api.get("/wallet/holds", params={"userId": user, "status": "held"},
                   headers=auth(user)).json()
    assert [h["id"] for h in held["items"]] == [ids[3], ids[2], ids[0]]
    voided = api.get("/wallet/holds", params={"status": "voided"}, headers=auth(user)).json()
    assert [h["id"] for h in voided["items"]] == [ids[1]]
    everyone = api.get("/wallet/holds", params={"userId": user}, headers=OPERATOR).json()
    assert [h["id"] for h in everyone["items"]] == ids[::-1]


def test_the_holds_list_refuses_another_users_wallet_a_bad_status_and_a_foreign_cursor(
        api: httpx.Client) -> None:
    user, other = funded(api), funded(api)
    for n in range(3):
        placed(api, user, str(n + 1))
    assert error_of(api.get("/wallet/holds", params={"userId": other},
                            headers=auth(user)))[:2] == (403, "forbidden")
    assert error_of(api.get("/wallet/holds", params={"status": "active"},
                            headers=auth(user)))[2] == "status"
    assert error_of(api.get("/wallet/holds", params={"limit": "0"},
                            headers=auth(user)))[2] == "limit"
    cursor = api.get("/wallet/holds", params={"limit": "1"},
                     headers=auth(user)).json()["nextCursor"]
    for params, headers in (({"cursor": cursor, "status": "held"}, auth(user)),
                            ({"cursor": cursor}, auth(other)),
                            ({"cursor": cursor + "x"}, auth(user))):
        assert error_of(api.get("/wallet/holds", params=params, headers=headers))[2] == "cursor"
    mine = api.get("/wallet/holds", headers=auth(other)).json()["items"]
    assert mine == []


def test_hold_input_is_checked_field_by_field(api: httpx.Client) -> None:
    user = funded(api)
    for fields, field in (({"expiresInSeconds": 0}, "expiresInSeconds"),
                          ({"expiresInSeconds": 2_592_001}, "expiresInSeconds"),
                          ({"expiresInSeconds": 1.5}, "expiresInSeconds"),
                          ({"expiresInSeconds": "soon"}, "expiresInSeconds"),
                          ({"currency": "XXX"}, "currency"),
                          ({"reference": ""}, "reference"),
                          ({"metadata": {"k": 5}}, "metadata.k")):
        assert error_of(place(api, user, "1", **fields))[2] == field, fields
    assert error_of(place(api, user, "0"))[2] == "amount"
    assert place(api, user, "1", expiresInSeconds=2_592_000).status_code == 201
    form = api.post("/wallet/holds", content=f"userId={user}&amount=2&expiresInSeconds=60"
                    "&metadata.shop=north", headers={**auth(user), "Content-Type":
                                                      "application/x-www-form-urlencoded"})
    assert form.status_code == 201 and form.json()["metadata"] == {"shop": "north"}
    assert figures(api, user)[2] == "3.00"


def test_only_operators_verify_the_journal(api: httpx.Client) -> None:
    user = funded(api)
    placed(api, user, "5")
    assert api.get("/wallet/audit/verify").status_code == 401
    assert error_of(api.get("/wallet/audit/verify", params={"userId": user},
                            headers=auth(user)))[:2] == (403, "forbidden")
    report = api.get("/wallet/audit/verify", params={"userId": user}, headers=OPERATOR)
    assert report.status_code == 200, report.text
    assert report.json()["problems"] == [] and report.json()["accountsChecked"] >= 1


def ws_url(server: Server, bearer: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws?token={bearer}"


async def events_until(socket: Any, done: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(EVENT_DEADLINE_S):
        while not done(seen):
            seen.append(json.loads(await socket.recv()))
    return seen


def test_hold_changes_are_pushed_to_the_owner_and_operators_only(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as api:
        user, stranger = funded(api), funded(api)

    async def scenario(client: httpx.AsyncClient) -> None:
        async with websockets.connect(ws_url(server, token(user))) as mine, \
                websockets.connect(ws_url(server, token(stranger))) as theirs, \
                websockets.connect(ws_url(server, token("ops", "operator"))) as ops:
            made = (await client.post("/wallet/holds", json={
                "userId": user, "amount": "10", "reference": "r-1"}, headers=auth(user))).json()
            (event,) = await events_until(mine, lambda seen: len(seen) == 1)
            assert (event["event"], event["hold"], event["balance"], event["available"],
                    event["held"]) == ("holdUpdated", made, "100.00", "90.00", "10.00")
            await client.post(f"/wallet/holds/{made['id']}/capture", json={"amount": "4"},
                              headers=auth(user))
            by_kind = {e["event"]: e for e in await events_until(mine, lambda s: len(s) == 2)}
            held, moved = by_kind["holdUpdated"], by_kind["balanceUpdated"]
            assert (held["hold"]["status"], held["available"], held["held"]) == (
                "captured", "96.00", "0.00")
            assert (moved["balance"], moved["available"], moved["held"]) == (
                "96.00", "96.00", "0.00")
            assert (moved["transaction"]["type"], moved["transaction"]["holdId"],
                    moved["transaction"]["reference"]) == ("capture", made["id"], "r-1")
            await events_until(ops, lambda seen: sum(e.get("userId") == user for e in seen) == 3)
            # The stranger heard of none of it: their next message is their own deposit's.
            await client.post("/wallet/deposit", json={"userId": stranger, "amount": "1"},
                              headers=OPERATOR)
            (own,) = await events_until(theirs, lambda seen: len(seen) == 1)
            assert (own["event"], own["userId"]) == ("balanceUpdated", stranger)

    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            await scenario(client)

    asyncio.run(run())
