"""domain/ledger.py: the Book posts balanced entries and refuses what would break a balance."""

from __future__ import annotations

import pytest
from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer
from wallet.domain.ledger import (
    BALANCE_MINOR_MAX,
    DEPOSITS_ACCOUNT,
    PAYOUTS_ACCOUNT,
    Book,
    Posting,
    Rejection,
    Transaction,
    legs,
)

from ..fakes import NOW

BALANCE_MINOR_MIN = -(2**63)  # the narrowest integer both SQLite and PostgreSQL store


def post(book: Book, command: LedgerCommand) -> Transaction | Rejection:
    return book.post(command, "t-1", NOW)


def committed(book: Book, command: LedgerCommand) -> Transaction:
    result = post(book, command)
    assert isinstance(result, Transaction), result
    return result


def test_deposit_credits_the_wallet_from_the_deposits_account() -> None:
    book = Book({})
    transaction = committed(book, Deposit("alice", 500, "USD"))
    assert transaction.postings == (Posting(DEPOSITS_ACCOUNT, -500, -500),
                                    Posting("alice", 500, 500))
    assert (transaction.id, transaction.kind, transaction.amount_minor) == ("t-1", "deposit", 500)
    assert transaction.created_at == NOW
    assert book.balance("alice", "USD") == 500


def test_payout_debits_the_wallet_into_the_payouts_account() -> None:
    book = Book({("alice", "USD"): 800})
    transaction = committed(book, Payout("alice", 300, "USD"))
    assert transaction.postings == (Posting("alice", -300, 500), Posting(PAYOUTS_ACCOUNT, 300, 300))
    assert transaction.kind == "payout"


def test_transfer_moves_money_between_two_wallets() -> None:
    book = Book({("alice", "USD"): 1000, ("bob", "USD"): 40})
    transaction = committed(book, Transfer("alice", "bob", 250, "USD"))
    assert transaction.postings == (Posting("alice", -250, 750), Posting("bob", 250, 290))
    assert transaction.user_postings == transaction.postings
    assert transaction.posting_for("bob") == Posting("bob", 250, 290)
    assert transaction.posting_for("carol") is None


@pytest.mark.parametrize(
    "command",
    [Deposit("alice", 500, "USD"), Payout("alice", 70, "USD"),
     Transfer("alice", "bob", 99, "USD")],
)
def test_every_transaction_posts_entries_that_sum_to_zero(command: LedgerCommand) -> None:
    transaction = committed(Book({("alice", "USD"): 100}), command)
    assert len(transaction.postings) == 2
    assert sum(p.amount_minor for p in transaction.postings) == 0


@pytest.mark.parametrize(
    "command", [Payout("alice", 101, "USD"), Transfer("alice", "bob", 101, "USD"),
                Payout("alice", 1, "EUR")],
)
def test_a_wallet_never_goes_negative(command: LedgerCommand) -> None:
    book = Book({("alice", "USD"): 100})
    rejection = post(book, command)
    assert isinstance(rejection, Rejection)
    assert rejection.code == "insufficient_funds"
    assert book.balance("alice", "USD") == 100
    assert book.balance("bob", "USD") == 0
    assert book.changed == {}


@pytest.mark.parametrize("command", [Payout("alice", 100, "USD"),
                                     Transfer("alice", "bob", 100, "USD")])
def test_the_whole_balance_may_leave(command: LedgerCommand) -> None:
    book = Book({("alice", "USD"): 100})
    committed(book, command)
    assert book.balance("alice", "USD") == 0


def test_the_book_remembers_earlier_postings_of_the_batch() -> None:
    book = Book({("alice", "USD"): 100})
    committed(book, Payout("alice", 60, "USD"))
    rejection = post(book, Payout("alice", 60, "USD"))
    assert isinstance(rejection, Rejection) and rejection.code == "insufficient_funds"
    assert book.balance("alice", "USD") == 40


def test_a_credit_may_fill_a_balance_to_the_limit() -> None:
    book = Book({("bob", "USD"): BALANCE_MINOR_MAX - 10})
    assert committed(book, Deposit("bob", 10, "USD")).postings[1].balance_after_minor == (
        BALANCE_MINOR_MAX)


@pytest.mark.parametrize("command", [Deposit("bob", 11, "USD"),
                                     Transfer("alice", "bob", 11, "USD")])
def test_a_credit_past_the_limit_is_refused(command: LedgerCommand) -> None:
    book = Book({("alice", "USD"): 1000, ("bob", "USD"): BALANCE_MINOR_MAX - 10})
    rejection = post(book, command)
    assert isinstance(rejection, Rejection)
    assert rejection.code == "balance_limit_exceeded"
    assert (book.balance("alice", "USD"), book.balance("bob", "USD")) == (
        1000, BALANCE_MINOR_MAX - 10)
    assert book.changed == {}


def test_system_accounts_may_go_negative() -> None:
    book = Book({})
    committed(book, Deposit("alice", 500, "USD"))
    committed(book, Deposit("bob", 200, "USD"))
    assert book.balance(DEPOSITS_ACCOUNT, "USD") == -700


@pytest.mark.parametrize(
    ("balances", "command"),
    [
        ({(DEPOSITS_ACCOUNT, "USD"): BALANCE_MINOR_MIN + 5}, Deposit("alice", 10, "USD")),
        ({(PAYOUTS_ACCOUNT, "USD"): BALANCE_MINOR_MAX - 5, ("alice", "USD"): 10},
         Payout("alice", 10, "USD")),
    ],
)
def test_system_account_balances_stay_within_what_the_store_can_hold(
    balances: dict[tuple[str, str], int], command: LedgerCommand
) -> None:
    """The SQL store keeps every balance in a 64-bit column, system accounts included.

    A posting past that range makes the batch's commit fail, and the consumer
    redelivers the same batch for ever. The Book must refuse it as data instead.
    """
    book = Book(balances)
    post(book, command)
    assert all(BALANCE_MINOR_MIN <= after <= BALANCE_MINOR_MAX for after in book.changed.values())


def test_changed_tracks_only_the_keys_a_posting_touched() -> None:
    book = Book({("alice", "USD"): 100, ("alice", "EUR"): 100, ("carol", "USD"): 100})
    committed(book, Transfer("alice", "bob", 30, "USD"))
    assert book.changed == {("alice", "USD"): 70, ("bob", "USD"): 30}


def test_changed_keeps_the_latest_balance_of_a_key() -> None:
    book = Book({("alice", "USD"): 100})
    committed(book, Payout("alice", 30, "USD"))
    committed(book, Deposit("alice", 5, "USD"))
    assert book.changed[("alice", "USD")] == 75


def test_balances_are_kept_per_currency() -> None:
    book = Book({("alice", "USD"): 100})
    committed(book, Deposit("alice", 7, "JPY"))
    assert (book.balance("alice", "USD"), book.balance("alice", "JPY")) == (100, 7)


@pytest.mark.parametrize(
    ("command", "debited", "credited"),
    [(Deposit("a", 1, "USD"), DEPOSITS_ACCOUNT, "a"), (Payout("a", 1, "USD"), "a", PAYOUTS_ACCOUNT),
     (Transfer("a", "b", 1, "USD"), "a", "b")],
)
def test_legs_name_the_debited_then_the_credited_account(
    command: LedgerCommand, debited: str, credited: str
) -> None:
    assert legs(command) == (debited, credited)


def test_user_postings_leave_out_system_accounts() -> None:
    transaction = committed(Book({}), Deposit("alice", 5, "USD"))
    assert transaction.user_postings == (Posting("alice", 5, 5),)


def test_posting_onto_a_corrupt_negative_user_balance_trips_the_invariant() -> None:
    """Balances come from the store; a negative user balance there is a bug, not an input."""
    book = Book({("alice", "USD"): -5})
    with pytest.raises(AssertionError, match="negative"):
        book.post(Deposit("alice", 1, "USD"), "t-1", NOW)
