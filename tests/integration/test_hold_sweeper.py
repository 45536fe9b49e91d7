"""The embedded runtime's hold sweeper: a hold on a wallet with no other traffic still expires.

The consuming half of `wallet serve` (the poller and the sweeper, as serve.py
starts them) over the embedded engines: a hold is placed through the log, and
nothing else is sent. Only the sweeper can then expire it, since the consumer
expires a wallet's due holds only before another command on that wallet.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from wallet import bootstrap
from wallet.config import Config
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit, LedgerCommand, PlaceHold, expiry_command_id
from wallet.domain.events import HoldUpdated
from wallet_runtime.functions import CONSUMER, functions_dir, load_handlers
from wallet_runtime.serve import start_consuming

from .support import envelope, unique, wait_until

DRAIN_TIMEOUT_S = 2
HOLD_EXPIRY_S = 1  # the shortest a hold may be placed for


@pytest.fixture
def container(tmp_path: Path) -> Iterator[bootstrap.Container]:
    built = bootstrap.build(Config.from_env({"WALLET_DATA_DIR": str(tmp_path)}))
    bootstrap.install(built)
    poller, sweeps = start_consuming(built, load_handlers(functions_dir())[CONSUMER])
    try:
        yield built
    finally:
        sweeps.stop()
        poller.stop(DRAIN_TIMEOUT_S)
        built.close()
        bootstrap.install(None)


def send(container: bootstrap.Container, command: LedgerCommand, command_id: str) -> None:
    container.log.append(command.wallet_id, encode_envelope(envelope(command, command_id)))


def test_a_hold_expires_by_itself_and_releases_its_money(container: bootstrap.Container) -> None:
    alice, hold_id = unique("alice"), str(uuid.uuid4())
    send(container, Deposit(alice, 1_000, "USD"), unique("deposit"))
    send(container, PlaceHold(alice, 400, "USD", expires_in_s=HOLD_EXPIRY_S), hold_id)
    wait_until(lambda: container.store.hold(hold_id) is not None, "the hold to be placed")
    assert container.store.balances(alice).held == {"USD": 400}

    wait_until(lambda: getattr(container.store.hold(hold_id), "status", None) == "expired",
               "the sweeper to expire the hold")
    outcome = container.store.outcome(expiry_command_id(hold_id))
    assert isinstance(outcome, HoldUpdated) and outcome.change.held_delta_minor == -400
    balances = container.store.balances(alice)
    assert (balances.balances, balances.available("USD")) == ({"USD": 1_000}, 1_000)
