"""GET /wallet/currencies publishes the server's ISO 4217 table, the dashboard's only source."""

import httpx
from wallet.domain.currencies import MINOR_UNIT_EXPONENTS

from tests.e2e.server import auth, unique


def test_every_currency_the_server_accepts_is_listed_with_its_exponent(
        api: httpx.Client) -> None:
    response = api.get("/wallet/currencies", headers=auth(unique()))
    assert response.status_code == 200, response.text
    body = response.json()
    listed = {entry["code"]: entry["exponent"] for entry in body["currencies"]}
    assert listed == MINOR_UNIT_EXPONENTS
    codes = [entry["code"] for entry in body["currencies"]]
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert (listed["XAF"], listed["CLF"], listed["KWD"], listed["USD"]) == (0, 4, 3, 2)
    assert body["default"] == "USD"


def test_the_table_may_be_cached_privately_but_not_shared(api: httpx.Client) -> None:
    """It changes only with a deploy; a token is needed, so no shared cache may keep it."""
    response = api.get("/wallet/currencies", headers=auth(unique(), "operator"))
    directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
    assert "private" in directives and "public" not in directives
    assert any(d.startswith("max-age=") and int(d.split("=")[1]) > 0 for d in directives)


def test_the_table_needs_a_token(api: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = api.get("/wallet/currencies", headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
