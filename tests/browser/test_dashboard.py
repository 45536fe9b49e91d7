"""The dashboard in real Chromium: sign-in by link, live updates, errors, history, reconnects."""

import math
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import DESKTOP, EXPECT_TIMEOUT_MS, screenshot
from tests.e2e.server import Server, auth, token, unique, wait_until
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


# Holds, labels and point-in-time balances (issue 12). They drive the routes of docs/API.md.

HOLD_EXPIRY_DEADLINE_MS = 10_000  # the local runtime sweeps due holds every second


def place_hold(server: Server, user: str, amount: str, **fields: object) -> dict[str, Any]:
    reply = httpx.post(f"{server.url}/wallet/holds",
                       json={"userId": user, "amount": amount, **fields},
                       headers=auth("ops", "operator"), timeout=30)
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def hold_row(page: Page, hold_id: str) -> Locator:
    return page.get_by_role("table", name="Active holds").locator(f'tr[data-hold-id="{hold_id}"]')


def holds_form(page: Page) -> Locator:
    return page.get_by_role("form", name="Place a hold")


def test_placing_a_hold_shows_it_in_the_panel_and_lowers_available(
        page: Page, server: Server) -> None:
    user, reference = unique("hold"), unique("ref")
    deposit(server, user, "20.00")
    signed_in(page, user_link(server, user))
    expect(balance_cell(page, user, "USD", "available")).to_have_text("20.00")
    form = holds_form(page)
    form.get_by_label("Amount").fill("7.50")
    form.get_by_label("Reference").fill(reference)
    form.get_by_role("button", name="Add metadata").click()
    form.get_by_label("Metadata key 1").fill("order")
    form.get_by_label("Metadata value 1").fill("A-17")
    form.get_by_role("button", name="Place hold").click()
    expect(form.get_by_role("status")).to_contain_text(f"Held 7.50 USD in {user}'s wallet")
    row = page.get_by_role("table", name="Active holds").locator("tr[data-hold-id]",
                                                                 has_text=reference)
    expect(row).to_contain_text("7.50")
    expect(row).to_contain_text("order=A-17")
    expect(balance_cell(page, user, "USD", "available")).to_have_text("12.50")
    expect(balance_cell(page, user, "USD", "held")).to_have_text("7.50")
    expect(balance_cell(page, user, "USD")).to_have_text("20.00")
    # One placed elsewhere arrives by itself, as a holdUpdated event.
    other = place_hold(server, user, "2.00")
    expect(hold_row(page, other["id"])).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(balance_cell(page, user, "USD", "available")).to_have_text("10.50",
                                                                      timeout=LIVE_DEADLINE_MS)
    screenshot(page, "holds")


def test_a_hold_over_the_available_balance_is_refused_in_words(page: Page, server: Server) -> None:
    user = unique("short")
    deposit(server, user, "5.00")
    place_hold(server, user, "4.00")
    signed_in(page, user_link(server, user))
    form = holds_form(page)
    form.get_by_label("Amount").fill("2.00")
    form.get_by_role("button", name="Place hold").click()
    expect(form.get_by_role("alert")).to_have_text(
        f"Not enough money: {user}'s available USD balance is lower than 2.00.")


def test_capturing_part_of_a_hold_and_voiding_another_from_the_panel(
        page: Page, server: Server) -> None:
    user = unique("capture")
    deposit(server, user, "50.00")
    first = place_hold(server, user, "10.00", reference="first")
    second = place_hold(server, user, "5.00")
    signed_in(page, user_link(server, user))
    panel = page.get_by_role("region", name="Holds")
    expect(balance_cell(page, user, "USD", "available")).to_have_text("35.00")

    row = hold_row(page, first["id"])
    row.get_by_label("Capture amount").fill("12.00")
    row.get_by_role("button", name="Capture").click()
    expect(panel.get_by_role("alert")).to_have_text(
        "Not allowed: 12.00 USD is more than the hold's 10.00 USD.")
    row.get_by_label("Capture amount").fill("4.00")
    row.get_by_role("button", name="Capture").click()
    expect(panel.get_by_role("status").last).to_have_text(
        f"Captured 4.00 USD of {user}'s hold; 6.00 USD went back to available")
    expect(hold_row(page, first["id"])).to_have_count(0)
    capture_row = page.get_by_role("table", name="Live feed").locator(
        f'tr[data-user-id="{user}"]', has=page.locator("td:nth-child(3)", has_text="capture"))
    expect(capture_row).to_contain_text("4.00")
    expect(capture_row).to_contain_text("first")  # the hold's reference goes with its capture
    expect(balance_cell(page, user)).to_have_text("46.00")
    expect(balance_cell(page, user, "USD", "available")).to_have_text("41.00")
    expect(balance_cell(page, user, "USD", "held")).to_have_text("5.00")

    hold_row(page, second["id"]).get_by_role("button", name="Void").click()
    expect(panel.get_by_role("status").last).to_have_text(f"Voided {user}'s hold of 5.00 USD")
    expect(hold_row(page, second["id"])).to_have_count(0)
    expect(balance_cell(page, user, "USD", "available")).to_have_text("46.00")
    expect(balance_cell(page, user, "USD", "held")).to_have_text("0.00")
    again = httpx.post(f"{server.url}/wallet/holds/{second['id']}/void", headers=auth(user),
                       timeout=30)
    assert again.status_code == 409 and again.json()["error"]["code"] == "hold_not_active"
    screenshot(page, "holds-captured")


def test_a_hold_ended_elsewhere_leaves_the_panel_by_itself(page: Page, server: Server) -> None:
    user = unique("ended")
    deposit(server, user, "9.00")
    voided = place_hold(server, user, "1.00")
    expiring = place_hold(server, user, "2.00", expiresInSeconds=1)
    signed_in(page, operator_link(server))
    expect(hold_row(page, voided["id"])).to_be_visible()
    reply = httpx.post(f"{server.url}/wallet/holds/{voided['id']}/void",
                       headers=auth("ops", "operator"), timeout=30)
    assert reply.status_code == 200, reply.text
    expect(hold_row(page, voided["id"])).to_have_count(0, timeout=LIVE_DEADLINE_MS)
    expect(hold_row(page, expiring["id"])).to_have_count(0, timeout=HOLD_EXPIRY_DEADLINE_MS)


def test_a_reference_and_metadata_written_show_in_the_feed_and_find_history(
        page: Page, server: Server) -> None:
    user, reference = unique("label"), unique("inv")
    signed_in(page, user_link(server, user))
    form = page.get_by_role("form", name="New operation")
    form.get_by_label("Amount").fill("3.00")
    form.get_by_label("Reference").fill(reference)
    form.get_by_role("button", name="Add metadata").click()
    form.get_by_label("Metadata key 1").fill("shop")
    form.get_by_label("Metadata value 1").fill("north")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_role("status")).to_have_text(f"Deposit of 3.00 USD to {user} committed")
    feed = page.get_by_role("table", name="Live feed")
    mine = feed.locator(f'tr[data-user-id="{user}"]', has_text=reference)
    expect(mine.locator('td[data-label="metadata"]')).to_have_text("shop=north")
    # One written through the API arrives live with its labels.
    other = httpx.post(f"{server.url}/wallet/deposit",
                       json={"userId": user, "amount": "1.00", "reference": "api-side",
                             "metadata": {"shop": "south", "till": "4"}},
                       headers=auth("ops", "operator"), timeout=30).json()
    row = feed_row(page, other["id"], user)
    expect(row.locator('td[data-label="reference"]')).to_have_text("api-side",
                                                                  timeout=LIVE_DEADLINE_MS)
    expect(row.locator('td[data-label="metadata"]')).to_have_text("shop=south, till=4")

    filters = page.get_by_role("form", name="History filters")
    history = page.get_by_role("table", name="History").locator("tbody tr[data-user-id]")
    filters.get_by_label("Reference").fill(reference)
    filters.get_by_role("button", name="Apply filters").click()
    expect(history).to_have_count(1)
    expect(history).to_contain_text("shop=north")
    filters.get_by_label("Reference").fill("")
    filters.get_by_role("button", name="Add metadata").click()
    filters.get_by_label("Metadata key 1").fill("shop")
    filters.get_by_label("Metadata value 1").fill("south")
    filters.get_by_role("button", name="Apply filters").click()
    expect(history).to_have_count(1)
    expect(history.locator('td[data-label="reference"]')).to_have_text("api-side")
    screenshot(page, "labels")


def local_input(page: Page, instant_s: float) -> str:
    """The datetime-local text for an instant, in the browser's own time zone."""
    text: str = page.evaluate(
        """ms => { const d = new Date(ms), p = n => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
               `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` }""",
        int(instant_s * 1000))
    return text


def next_whole_second(created_at: str) -> float:
    """The first whole second after a server timestamp, once the clock has passed it."""
    moment = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    boundary = float(math.floor(moment.timestamp()) + 1)
    wait_until(lambda: time.time() > boundary + 0.05, timeout_s=3)
    return boundary


def test_the_as_of_view_shows_balances_then(page: Page, server: Server) -> None:
    user = unique("asof")
    first = deposit(server, user, "10.00")
    after_first = next_whole_second(first["createdAt"])
    deposit(server, user, "5.00")
    held = place_hold(server, user, "3.00")
    after_hold = next_whole_second(held["createdAt"])
    signed_in(page, user_link(server, user))
    chart = page.get_by_role("region", name="Balance over time")
    form = chart.get_by_role("form", name="Balances as of")
    then = form.get_by_role("table", name="Balances as of then").locator(
        'tr[data-currency="USD"]')

    form.get_by_label("As of (your time)").fill(local_input(page, after_first))
    form.get_by_role("button", name="Show balances then").click()
    expect(then.locator('td[data-amount="balance"]')).to_have_text("10.00")
    expect(then.locator('td[data-amount="available"]')).to_have_text("10.00")
    expect(then.locator('td[data-amount="held"]')).to_have_text("0.00")

    form.get_by_label("As of (your time)").fill(local_input(page, after_hold))
    form.get_by_role("button", name="Show balances then").click()
    expect(then.locator('td[data-amount="balance"]')).to_have_text("15.00")
    expect(then.locator('td[data-amount="available"]')).to_have_text("12.00")
    expect(then.locator('td[data-amount="held"]')).to_have_text("3.00")

    form.get_by_label("As of (your time)").fill(local_input(page, time.time() + 3600))
    form.get_by_role("button", name="Show balances then").click()
    expect(form.get_by_role("alert")).to_have_text("As of must not be in the future.")
    screenshot(page, "as-of")
