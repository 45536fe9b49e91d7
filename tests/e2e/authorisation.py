"""The authorisation matrix: who gets what on every route, shared by the e2e and emulator suites.

The rules of docs/API.md ("Who may do what") are written once, as a few policies; RULES gives
each route of the route table its policy and the requests that probe it. A route with no rule
fails the suite (tests/e2e/test_authorisation.py), so a new route cannot be left out.

Four callers ask about one wallet, the owner's: no token, the owner, another user (the
stranger, who has a wallet and history of their own) and an operator. Every answer is also
searched for what the caller may not learn: another wallet's ids, transactions and amounts.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import httpx
from wallet_runtime.functions import HTTP_ROUTES

ANONYMOUS, OWNER, STRANGER, OPERATOR = "anonymous", "owner", "stranger", "operator"
CALLERS = (ANONYMOUS, OWNER, STRANGER, OPERATOR)
OK = 200  # in a policy: any 2xx (a write may answer 202 if its commit is late)
CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
AMOUNT = re.compile(r"\d\.\d")  # no refusal quotes a balance or an amount
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Route = tuple[str, str]  # (method, path template), as in HTTP_ROUTES
Mint = Callable[[str, str], str]  # (user id, role) -> a token


class Policy(NamedTuple):
    """The status each caller gets: OK, or the refusal's status."""

    anonymous: int
    owner: int
    stranger: int
    operator: int

    def expected(self, caller: str) -> int:
        status: int = getattr(self, caller)
        return status


OWN_WALLET = Policy(401, OK, 403, OK)  # a user acts on their own wallet; operators on any
OWN_SOURCE = Policy(401, OK, 403, 403)  # a transfer leaves the caller's own wallet, always
EVERY_WALLET = Policy(401, 403, 403, OK)  # all wallets at once: operators only
PARTIES = Policy(401, OK, 404, OK)  # a transaction, for its parties: 404 hides that it exists
ANY_TOKEN = Policy(401, OK, OK, OK)
PUBLIC = Policy(OK, OK, OK, OK)


@dataclass(frozen=True)
class Wallets:
    """The people of one run: ids unique to it, and the transactions made for it."""

    owner: str
    counterparty: str  # received a transfer from the owner
    stranger: str
    operator: str
    owner_deposit: str
    owner_transfer: str  # owner -> counterparty
    stranger_deposit: str
    owner_hold: str  # still active, unless a probe ended it

    def private_to_others(self, caller: str) -> tuple[str, ...]:
        """What this caller must never read unless they sent it themselves."""
        owners = (self.owner, self.counterparty, self.owner_deposit, self.owner_transfer,
                  self.owner_hold)
        if caller == OPERATOR:
            return ()
        if caller == OWNER:
            return (self.stranger, self.stranger_deposit)
        return owners if caller == STRANGER else (*owners, self.stranger, self.stranger_deposit)


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] | None = None

    def sent(self) -> str:
        """Everything the caller sent, to tell an echo from a leak."""
        return json.dumps([self.path, self.params, self.body])


@dataclass(frozen=True)
class Rule:
    policy: Policy
    probes: Callable[[Wallets], list[Probe]]
    # Runs before each caller's probes, for a route whose success changes what it probes.
    prepare: Callable[[httpx.Client, Wallets, Mint], Wallets] | None = None


FILTERS = {"type": "deposit", "currency": "USD", "minAmount": "0.01", "maxAmount": "1000",
           "from": "2000-01-01", "to": "9999-12-31", "sort": "amount", "order": "asc",
           "limit": "5"}


def _reads(path: str) -> Callable[[Wallets], list[Probe]]:
    return lambda w: [Probe("GET", path.format(owner=w.owner))]


def _history(path: str) -> Callable[[Wallets], list[Probe]]:
    """Plain, filtered, and filtered down to the transfer the owner sent."""
    def probes(w: Wallets) -> list[Probe]:
        target = path.format(owner=w.owner)
        return [Probe("GET", target), Probe("GET", target, FILTERS),
                Probe("GET", target, {"type": "transfer_out", "limit": "200"})]
    return probes


def _fresh_hold(api: httpx.Client, wallets: Wallets, mint: Mint) -> Wallets:
    """A capture or a void ends its hold: each caller probes an active hold of the owner's."""
    return replace(wallets, owner_hold=place_hold(api, wallets, mint))


def _hold_change(action: str) -> Rule:
    return Rule(PARTIES, lambda w: [Probe("POST", f"/wallet/holds/{w.owner_hold}/{action}")],
                _fresh_hold)


RULES: Mapping[Route, Rule] = {
    ("POST", "/wallet/deposit"): Rule(OWN_WALLET, lambda w: [
        Probe("POST", "/wallet/deposit", body={"userId": w.owner, "amount": "1.00"})]),
    ("POST", "/wallet/payout"): Rule(OWN_WALLET, lambda w: [
        Probe("POST", "/wallet/payout", body={"userId": w.owner, "amount": "0.01"})]),
    ("POST", "/wallet/transfer"): Rule(OWN_SOURCE, lambda w: [
        Probe("POST", "/wallet/transfer",
              body={"fromUserId": w.owner, "toUserId": w.counterparty, "amount": "0.01"})]),
    ("GET", "/wallet/balance/{userId}"): Rule(OWN_WALLET, lambda w: [
        Probe("GET", f"/wallet/balance/{w.owner}"),
        Probe("GET", f"/wallet/balance/{w.owner}", {"currency": "USD"})]),
    ("GET", "/wallet/history/{userId}"): Rule(OWN_WALLET, _history("/wallet/history/{owner}")),
    ("GET", "/wallet/history"): Rule(EVERY_WALLET, _history("/wallet/history")),
    ("GET", "/wallet/transactions/{id}"): Rule(PARTIES, lambda w: [
        Probe("GET", f"/wallet/transactions/{w.owner_deposit}"),
        Probe("GET", f"/wallet/transactions/{w.owner_transfer}")]),
    ("GET", "/wallet/currencies"): Rule(ANY_TOKEN, _reads("/wallet/currencies")),
    ("POST", "/wallet/holds"): Rule(OWN_WALLET, lambda w: [
        Probe("POST", "/wallet/holds", body={"userId": w.owner, "amount": "0.01"})]),
    ("POST", "/wallet/holds/{id}/capture"): _hold_change("capture"),
    ("POST", "/wallet/holds/{id}/void"): _hold_change("void"),
    ("GET", "/wallet/holds/{id}"): Rule(PARTIES, lambda w: [
        Probe("GET", f"/wallet/holds/{w.owner_hold}")]),
    # Without userId a user lists their own holds (tests/e2e/test_holds.py): no refusal.
    ("GET", "/wallet/holds"): Rule(OWN_WALLET, lambda w: [
        Probe("GET", "/wallet/holds", {"userId": w.owner}),
        Probe("GET", "/wallet/holds", {"userId": w.owner, "status": "held", "limit": "5"})]),
    ("GET", "/wallet/audit/verify"): Rule(EVERY_WALLET, lambda w: [
        Probe("GET", "/wallet/audit/verify", {"userId": w.owner}),
        Probe("GET", "/wallet/audit/verify")]),
}

# What the local runtime serves beside the functions (runtime/wallet_runtime/server.py).
RUNTIME_RULES: Mapping[Route, Rule] = {
    ("GET", "/metrics"): Rule(EVERY_WALLET, _reads("/metrics")),
    ("GET", "/healthz"): Rule(PUBLIC, _reads("/healthz")),
    ("GET", "/openapi.json"): Rule(PUBLIC, _reads("/openapi.json")),
    ("GET", "/docs"): Rule(PUBLIC, _reads("/docs")),
}


def table_routes() -> list[Route]:
    return [(method, path) for method, path, _ in HTTP_ROUTES]


def matches(template: str, path: str) -> bool:
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(
        (p.startswith("{") and g != "") or p == g for p, g in zip(parts, given, strict=True))


def send(api: httpx.Client, probe: Probe, bearer: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return api.request(probe.method, probe.path, params=probe.params, json=probe.body,
                       headers=headers)


def check(response: httpx.Response, expected: int, probe: Probe, wallets: Wallets,
          caller: str) -> None:
    """The status the policy gives, and nothing in the answer the caller may not read."""
    where = f"{caller} {probe.method} {probe.path} {probe.params}: {response.text[:300]}"
    if expected == OK:
        assert 200 <= response.status_code < 300, where
    else:
        assert response.status_code == expected, where
        check_refusal(response.json(), expected, where)
    for value in wallets.private_to_others(caller):
        assert value in probe.sent() or value not in response.text, f"{value} leaked: {where}"
    if caller == OWNER and expected == OK:
        check_owners_view(response, wallets, where)


def check_refusal(body: Any, status: int, where: str) -> None:
    """The envelope alone: a code, a message with no amount and no id it was not sent."""
    assert set(body) == {"error"}, where
    error = body["error"]
    assert set(error) <= {"code", "message", "field"} and error["code"] == CODES[status], where
    assert not AMOUNT.search(json.dumps(error)), where


def check_owners_view(response: httpx.Response, wallets: Wallets, where: str) -> None:
    """A user's pages hold their own wallet's items, and a transfer only their own side."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return
    body = response.json()
    for item in body.get("items", []):
        assert item["userId"] == wallets.owner, where
    if body.get("id") == wallets.owner_transfer:
        assert "fromBalanceAfter" in body and "toBalanceAfter" not in body, where


def seed(api: httpx.Client, mint: Mint, unique: Callable[[str], str]) -> Wallets:
    """Money in the owner's and the stranger's wallets, a transfer to the counterparty, and
    a hold on the owner's money."""
    owner, counterparty, stranger = unique("owner"), unique("counterparty"), unique("stranger")
    operator = unique("operator")

    def move(path: str, body: dict[str, str], as_user: str, role: str = "user") -> str:
        response = api.post(path, json=body, headers={
            "Authorization": f"Bearer {mint(as_user, role)}"})
        assert response.status_code == 201, response.text
        transaction_id: str = response.json()["id"]
        assert UUID.fullmatch(transaction_id)
        return transaction_id

    deposit = move("/wallet/deposit", {"userId": owner, "amount": "50.00"}, operator, "operator")
    transfer = move("/wallet/transfer", {"fromUserId": owner, "toUserId": counterparty,
                                         "amount": "5.00"}, owner)
    theirs = move("/wallet/deposit", {"userId": stranger, "amount": "30.00"}, operator,
                  "operator")
    wallets = Wallets(owner, counterparty, stranger, operator, deposit, transfer, theirs, "")
    return replace(wallets, owner_hold=place_hold(api, wallets, mint))


def place_hold(api: httpx.Client, wallets: Wallets, mint: Mint) -> str:
    """A new hold of 0.01 on the owner's money, placed by an operator."""
    response = api.post("/wallet/holds", json={"userId": wallets.owner, "amount": "0.01"},
                        headers={"Authorization": f"Bearer {mint(wallets.operator, 'operator')}"})
    assert response.status_code == 201, response.text
    hold_id: str = response.json()["id"]
    assert UUID.fullmatch(hold_id)
    return hold_id


def bearer_of(wallets: Wallets, caller: str, mint: Mint) -> str | None:
    if caller == ANONYMOUS:
        return None
    if caller == OPERATOR:
        return mint(wallets.operator, "operator")
    return mint(wallets.owner if caller == OWNER else wallets.stranger, "user")


def run_rule(api: httpx.Client, rule: Rule, route: Route, caller: str, wallets: Wallets,
             mint: Mint) -> int:
    """Every probe of one route for one caller; the number of answers checked."""
    if rule.prepare is not None:
        wallets = rule.prepare(api, wallets, mint)
    probes = rule.probes(wallets)
    assert probes and all(
        p.method == route[0] and matches(route[1], p.path) for p in probes), route
    bearer = bearer_of(wallets, caller, mint)
    for probe in probes:
        check(send(api, probe, bearer), rule.policy.expected(caller), probe, wallets, caller)
    return len(probes)
