"""The wire form of envelopes and events: compact JSON, amounts as integers.

Both log adapters and both pub/sub adapters share it, so the embedded stack
and the distributed one speak exactly the same bytes.
"""

import json
from datetime import datetime
from typing import Any

from wallet.domain.access import USER_ID
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Payout, Transfer
from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.errors import ValidationError
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import BALANCE_MINOR_MAX, Posting, Rejection, Transaction

_COMMAND_TYPES: dict[str, type[LedgerCommand]] = {
    "deposit": Deposit,
    "payout": Payout,
    "transfer": Transfer,
}


def encode_envelope(envelope: Envelope) -> bytes:
    command = envelope.command
    body = {"id": envelope.command_id, "hash": envelope.request_hash,
            "attempt": envelope.attempt_id, "type": type(command).__name__.lower(),
            **vars(command)}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_envelope(data: bytes) -> Envelope:
    """Raises ValidationError for anything that is not a well-formed envelope."""
    try:
        body = json.loads(data)
        command_type = _COMMAND_TYPES[body.pop("type")]
        envelope_id, request_hash = str(body.pop("id")), str(body.pop("hash"))
        attempt_id = str(body.pop("attempt", ""))  # records logged before attempts have none
        command = command_type(**body)
        _check_fields(command)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"undecodable command: {exc!r}"[:200]) from exc
    return Envelope(envelope_id, request_hash, command, attempt_id)


def _check_fields(command: LedgerCommand) -> None:
    """A log is an input like any other: trust no field's type."""
    for name, value in vars(command).items():
        expected = int if name == "amount_minor" else str
        if type(value) is not expected:
            raise ValidationError(f"field {name} has the wrong type")
        if name.endswith("user_id") and not USER_ID.fullmatch(str(value)):
            raise ValidationError(f"field {name} is not a user id")
    if command.currency not in MINOR_UNIT_EXPONENTS:
        raise ValidationError("unknown currency")
    if not 0 < command.amount_minor <= BALANCE_MINOR_MAX:
        raise ValidationError("amount out of range")


def encode_outcome(outcome: Outcome) -> str:
    head: dict[str, Any] = {"commandId": outcome.command_id, "hash": outcome.request_hash,
                            "attempt": outcome.attempt_id}
    if isinstance(outcome, CommandRejected):
        head["rejection"] = {"code": outcome.rejection.code, "message": outcome.rejection.message,
                             "at": outcome.rejected_at.isoformat(),
                             "wallet": outcome.wallet_id}
    else:
        head["transaction"] = transaction_to_dict(outcome.transaction)
    return json.dumps(head, separators=(",", ":"))


def decode_outcome(text: str | bytes) -> Outcome:
    body = json.loads(text)
    attempt_id = str(body.get("attempt", ""))  # events of an older consumer have none
    if "rejection" in body:
        rejection = Rejection(body["rejection"]["code"], body["rejection"]["message"])
        moment = datetime.fromisoformat(body["rejection"]["at"])
        wallet_id = body["rejection"]["wallet"]
        return CommandRejected(body["commandId"], body["hash"], rejection, moment, wallet_id,
                               attempt_id)
    return TransactionCommitted(
        body["commandId"], body["hash"], transaction_from_dict(body["transaction"]), attempt_id
    )


def transaction_to_dict(transaction: Transaction) -> dict[str, Any]:
    return {
        "id": transaction.id,
        "kind": transaction.kind,
        "currency": transaction.currency,
        "amount": transaction.amount_minor,
        "createdAt": transaction.created_at.isoformat(),
        "postings": [[p.account_id, p.amount_minor, p.balance_after_minor]
                     for p in transaction.postings],
    }


def transaction_from_dict(body: dict[str, Any]) -> Transaction:
    postings = tuple(Posting(str(a), int(m), int(b)) for a, m, b in body["postings"])
    return Transaction(
        str(body["id"]), str(body["kind"]), str(body["currency"]), int(body["amount"]),
        datetime.fromisoformat(body["createdAt"]), postings,
    )
