"""The dashboard in real Chromium: sign-in by link, live updates, errors, history, reconnects."""

import random
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import DESKTOP, EXPECT_TIMEOUT_MS, screenshot
from tests.e2e.server import Server, auth, token, unique
from tests.services.ports import free_port

LIVE_DEADLINE_MS = 2_000  # the bound: an API write shows on the page within 2 s
RECONNECT_DEADLINE_MS = 20_000  # the page's backoff is capped well below this


def operator_link(server: Server) -> str:
    line = next(line for line in server.banner if "Dashboard:" in line)
    return line.split()[-1]


def user_link(server: Server, user: str) -> str:
    return f"{server.url}/#token={token(user)}"


def unique_amount() -> str:
    """Cents no other test uses, so a row is found by its amount alone."""
    return f"{random.randint(100, 99_999)}.{random.randint(0, 99):02d}"


def deposit(server: Server, user: str, amount: str) -> dict[str, str]:
    reply = httpx.post(f"{server.url}/wallet/deposit", json={"userId": user, "amount": amount},
                       headers=auth("ops", "operator"), timeout=30)
    assert reply.status_code == 201, reply.text
    body: dict[str, str] = reply.json()
    return body


def connection(page: Page) -> Locator:
    return page.get_by_role("status", name="Connection")


def signed_in(page: Page, link: str) -> None:
    page.goto(link)
    expect(connection(page)).to_have_attribute("data-state", "connected")


def feed_row(page: Page, transaction_id: str, user: str) -> Locator:
    feed = page.get_by_role("table", name="Live feed")
    return feed.locator(f'tr[data-transaction-id="{transaction_id}"][data-user-id="{user}"]')


def balance_row(page: Page, user: str, currency: str = "USD") -> Locator:
    balances = page.get_by_role("table", name="Balances")
    return balances.locator(f'tr[data-user-id="{user}"][data-currency="{currency}"]')


def balance_cell(page: Page, user: str, currency: str = "USD", amount: str = "balance") -> Locator:
    """One figure of a balance row: its balance, available or held amount."""
    return balance_row(page, user, currency).locator(f'td[data-amount="{amount}"]')


def test_the_operator_link_signs_in_and_hides_the_token(page: Page, server: Server) -> None:
    signed_in(page, operator_link(server))
    expect(page.get_by_text("Signed in as operator (operator)")).to_be_visible()
    expect(connection(page)).to_have_text(re.compile("Live"))
    assert "token=" not in page.url, "the token must not stay in the address bar"
    screenshot(page, "signed-in")


def test_a_pasted_token_signs_in_and_a_bad_one_is_refused(page: Page, server: Server) -> None:
    user = unique("paste")
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Token").fill(token(user))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {user} (user)")).to_be_visible()


def test_an_api_deposit_shows_in_the_feed_and_balance_without_a_reload(
        page: Page, server: Server) -> None:
    user, amount = unique("live"), unique_amount()
    signed_in(page, operator_link(server))
    page.evaluate("window.__noReload = true")
    made = deposit(server, user, amount)
    row = feed_row(page, made["id"], user)
    expect(row).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(row).to_contain_text(amount)
    expect(row).to_contain_text("deposit")
    expect(balance_row(page, user)).to_contain_text(made["balanceAfter"],
                                                    timeout=LIVE_DEADLINE_MS)
    assert page.evaluate("window.__noReload") is True, "the page must not have reloaded"
    screenshot(page, "live-feed")


def test_the_feed_opens_with_what_was_committed_just_before_the_page(
        page: Page, server: Server) -> None:
    """Nothing will ever push a commit made before the websocket opened: history must show it."""
    user = unique("early")
    made = deposit(server, user, unique_amount())
    signed_in(page, operator_link(server))
    row = feed_row(page, made["id"], user)
    expect(row).to_be_visible()
    expect(row).not_to_have_class(re.compile("is-new"))
    expect(balance_row(page, user)).to_contain_text(made["balanceAfter"])


def test_a_user_sees_only_their_own_wallet(page: Page, server: Server) -> None:
    me, stranger = unique("me"), unique("stranger")
    signed_in(page, user_link(server, me))
    mine = deposit(server, me, unique_amount())
    theirs = deposit(server, stranger, unique_amount())
    expect(feed_row(page, mine["id"], me)).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(feed_row(page, theirs["id"], stranger)).to_have_count(0)
    expect(balance_row(page, stranger)).to_have_count(0)


def test_an_overdraft_from_the_form_shows_a_clear_error(page: Page, server: Server) -> None:
    user = unique("broke")
    deposit(server, user, "5.00")
    signed_in(page, user_link(server, user))
    form = page.get_by_role("form", name="New operation")
    form.get_by_label("Operation").select_option("payout")
    form.get_by_label("Amount").fill("50.00")
    form.get_by_role("button", name="Submit").click()
    alert = form.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(re.compile("not enough|insufficient", re.IGNORECASE))
    expect(balance_row(page, user)).to_contain_text("5.00")
    screenshot(page, "overdraft")


def test_the_form_refuses_a_malformed_amount_before_sending(page: Page, server: Server) -> None:
    user = unique("typo")
    signed_in(page, user_link(server, user))
    form = page.get_by_role("form", name="New operation")
    form.get_by_label("Operation").select_option("deposit")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    form.get_by_label("Amount").fill("12.345")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_role("alert")).to_be_visible()
    assert not any("/wallet/deposit" in url for url in sent)


def history_amounts(page: Page) -> list[str]:
    table = page.get_by_role("table", name="History")
    cells = table.locator("tbody tr[data-transaction-id] td:nth-child(4)")
    return [text.strip() for text in cells.all_inner_texts()]


def test_history_filters_and_sorts_on_the_server(page: Page, server: Server) -> None:
    user = unique("hist")
    for amount in ("5.00", "0.25", "12.00", "3.10"):
        deposit(server, user, amount)
    httpx.post(f"{server.url}/wallet/payout", json={"userId": user, "amount": "1.00"},
               headers=auth("ops", "operator"), timeout=30)
    signed_in(page, operator_link(server))
    filters = page.get_by_role("form", name="History filters")
    filters.get_by_label("User").fill(user)
    filters.get_by_label("Sort by").select_option("amount")
    filters.get_by_label("Order").select_option("desc")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("table", name="History").locator("tbody tr[data-user-id]")
           ).to_have_count(5)
    assert history_amounts(page) == ["12.00", "5.00", "3.10", "1.00", "0.25"]
    filters.get_by_label("Type").select_option("payout")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("table", name="History").locator("tbody tr[data-user-id]")
           ).to_have_count(1)
    assert history_amounts(page) == ["1.00"]
    screenshot(page, "history")


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers on one port and data dir, one after another; the last one is the live one."""
    servers = [Server(tmp_path, {"WALLET_PORT": str(free_port())}).start()]
    yield servers
    servers[-1].stop()


def test_after_a_server_restart_the_page_reconnects_and_catches_up(
        browser: Browser, restartable: list[Server]) -> None:
    first = restartable[0]
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    try:
        signed_in(page, operator_link(first))
        before = deposit(first, unique("pre"), unique_amount())
        expect(feed_row(page, before["id"], before["userId"])).to_be_visible()
        first.stop()
        expect(connection(page)).not_to_have_attribute("data-state", "connected")
        second = Server(first.data_dir, first.extra_env).start()
        restartable.append(second)
        missed = [deposit(second, unique("down"), unique_amount()) for _ in range(3)]
        expect(connection(page)).to_have_attribute("data-state", "connected",
                                                   timeout=RECONNECT_DEADLINE_MS)
        for made in missed:
            expect(feed_row(page, made["id"], made["userId"])).to_be_visible()
        expect(feed_row(page, before["id"], before["userId"])).to_have_count(1)
        screenshot(page, "reconnected")
    finally:
        context.close()


def deposit_in(server: Server, user: str, amount: str, currency: str) -> dict[str, str]:
    reply = httpx.post(f"{server.url}/wallet/deposit",
                       json={"userId": user, "amount": amount, "currency": currency},
                       headers=auth("ops", "operator"), timeout=30)
    assert reply.status_code == 201, reply.text
    body: dict[str, str] = reply.json()
    return body


def test_an_xaf_deposit_of_100_shows_as_100_not_100_00(page: Page, server: Server) -> None:
    """XAF has no minor units: the server's table says so, and the page must follow it."""
    user = unique("xaf")
    signed_in(page, operator_link(server))
    made = deposit_in(server, user, "100", "XAF")
    amount_cell = feed_row(page, made["id"], user).locator("td:nth-child(4)")
    expect(amount_cell).to_have_text("100", timeout=LIVE_DEADLINE_MS)
    expect(balance_cell(page, user, "XAF")).to_have_text("100")


def test_a_clf_amount_with_four_decimals_is_accepted_and_committed(
        page: Page, server: Server) -> None:
    user = unique("clf")
    signed_in(page, user_link(server, user))
    form = page.get_by_role("form", name="New operation")
    form.get_by_label("Operation").select_option("deposit")
    form.get_by_label("Amount").fill("1.2345")
    form.get_by_label("Currency").fill("CLF")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_role("status")).to_have_text(f"Deposit of 1.2345 CLF to {user} committed")
    expect(balance_cell(page, user, "CLF")).to_have_text("1.2345")
    balance = httpx.get(f"{server.url}/wallet/balance/{user}?currency=CLF",
                        headers=auth(user), timeout=30).json()
    assert balance["balance"] == "1.2345"


def test_an_unknown_currency_is_refused_by_name_before_sending(page: Page, server: Server) -> None:
    user = unique("xyz")
    signed_in(page, user_link(server, user))
    form = page.get_by_role("form", name="New operation")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    form.get_by_label("Amount").fill("1.00")
    form.get_by_label("Currency").fill("XYZ")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_role("alert")).to_contain_text("XYZ is not a currency this wallet accepts")
    assert not any("/wallet/deposit" in url for url in sent)


def test_a_fresh_load_offers_no_refresh_until_something_new_commits(
        page: Page, server: Server) -> None:
    """The feed's first items are ones History already shows: they are not 'new'."""
    user = unique("fresh")
    made = deposit(server, user, unique_amount())
    signed_in(page, operator_link(server))
    history = page.get_by_role("table", name="History")
    expect(history.locator(f'tr[data-transaction-id="{made["id"]}"]')).to_be_visible()
    expect(feed_row(page, made["id"], user)).to_be_visible()
    hint = page.get_by_text("New transactions were committed since this page loaded")
    expect(hint).to_have_count(0)
    later = deposit(server, user, unique_amount())
    expect(feed_row(page, later["id"], user)).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(hint).to_be_visible()


def test_a_looked_up_wallet_lists_only_the_currencies_it_holds(page: Page, server: Server) -> None:
    user = unique("eur")
    deposit_in(server, user, "7.00", "EUR")
    signed_in(page, operator_link(server))
    lookup = page.get_by_role("form", name="Balance lookup")
    lookup.get_by_label("Look up account").fill(user)
    lookup.get_by_role("button", name="Look up").click()
    expect(lookup.get_by_label("Look up account")).to_have_value("")  # the read has landed
    expect(balance_cell(page, user, "EUR")).to_have_text("7.00")
    expect(balance_row(page, user, "USD")).to_have_count(0)
    empty = unique("nobody")
    lookup.get_by_label("Look up account").fill(empty)
    lookup.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("table", name="Balances").locator(f'tr[data-user-id="{empty}"]')
           ).to_contain_text("No money in this wallet yet")


def test_the_balance_chart_opens_on_a_currency_the_wallet_holds(page: Page, server: Server) -> None:
    """XAF only: the default USD sorts first and has no data, so it must not be chosen."""
    user = unique("chart")
    deposit_in(server, user, "100", "XAF")
    deposit_in(server, user, "250", "XAF")
    signed_in(page, user_link(server, user))
    chart = page.get_by_role("region", name="Balance over time")
    expect(chart.get_by_label("Chart currency")).to_have_value("XAF")
    expect(chart.get_by_text("Latest: 350 XAF · 2 points")).to_be_visible()
    expect(chart.get_by_text(re.compile("No .* transactions"))).to_have_count(0)
    expect(balance_row(page, user, "USD")).to_have_count(0)
