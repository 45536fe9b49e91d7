"""The wire form of envelopes and events: compact JSON, amounts as integers.

Both log adapters and both pub/sub adapters share it, so the embedded stack
and the distributed one speak exactly the same bytes.
"""

import json
import re
from datetime import datetime
from typing import Any

from wallet.domain.access import USER_ID
from wallet.domain.commands import (
    HOLD_EXPIRY_MAX_S,
    KINDS,
    Envelope,
    LedgerCommand,
    kind_of,
)
from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.errors import ValidationError
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.holds import Hold
from wallet.domain.labels import labels_json, valid_metadata, valid_reference
from wallet.domain.ledger import BALANCE_MINOR_MAX, HoldChange, Posting, Rejection, Transaction

_COMMAND_TYPES: dict[str, type[LedgerCommand]] = {kind: kind_type
                                                  for kind_type, kind in KINDS.items()}
HOLD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def encode_envelope(envelope: Envelope) -> bytes:
    command = envelope.command
    body = {"id": envelope.command_id, "hash": envelope.request_hash,
            "attempt": envelope.attempt_id, "type": kind_of(command), **vars(command)}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_envelope(data: bytes) -> Envelope:
    """Raises ValidationError for anything that is not a well-formed envelope."""
    try:
        body = json.loads(data)
        command_type = _COMMAND_TYPES[body.pop("type")]
        envelope_id, request_hash = str(body.pop("id")), str(body.pop("hash"))
        attempt_id = str(body.pop("attempt", ""))  # records logged before attempts have none
        if "metadata" in body:
            body["metadata"] = valid_metadata(dict(body["metadata"]))
        command = command_type(**body)
        _check_fields(command)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"undecodable command: {exc!r}"[:200]) from exc
    return Envelope(envelope_id, request_hash, command, attempt_id)


def _check_fields(command: LedgerCommand) -> None:
    """A log is an input like any other: trust no field's type."""
    for name, value in vars(command).items():
        if name == "metadata":
            continue  # rebuilt by valid_metadata above
        if name == "reference":
            if value is not None:
                valid_reference(value)
            continue
        expected = int if name in ("amount_minor", "expires_in_s") else str
        if type(value) is not expected:
            raise ValidationError(f"field {name} has the wrong type")
        if name.endswith("user_id") and not USER_ID.fullmatch(str(value)):
            raise ValidationError(f"field {name} is not a user id")
        if name == "hold_id" and not HOLD_ID.fullmatch(str(value)):
            raise ValidationError("field hold_id is not a hold id")
    if command.currency not in MINOR_UNIT_EXPONENTS:
        raise ValidationError("unknown currency")
    if not 0 < command.amount_minor <= BALANCE_MINOR_MAX:
        raise ValidationError("amount out of range")
    if not 0 < getattr(command, "expires_in_s", 1) <= HOLD_EXPIRY_MAX_S:
        raise ValidationError("expiry out of range")


def encode_outcome(outcome: Outcome) -> str:
    head: dict[str, Any] = {"commandId": outcome.command_id, "hash": outcome.request_hash,
                            "attempt": outcome.attempt_id}
    if isinstance(outcome, CommandRejected):
        head["rejection"] = {"code": outcome.rejection.code, "message": outcome.rejection.message,
                             "at": outcome.rejected_at.isoformat(),
                             "wallet": outcome.wallet_id}
    elif isinstance(outcome, HoldUpdated):
        change = outcome.change
        head["hold"] = hold_to_dict(change.hold)
        head["held"] = [change.held_delta_minor, change.held_after_minor,
                        change.balance_after_minor]
        if change.transaction is not None:
            head["transaction"] = transaction_to_dict(change.transaction)
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
    if "hold" in body:
        delta, held, balance = (int(n) for n in body["held"])
        transaction = transaction_from_dict(body["transaction"]) if "transaction" in body \
            else None
        change = HoldChange(hold_from_dict(body["hold"]), delta, held, balance, transaction)
        return HoldUpdated(body["commandId"], body["hash"], change, attempt_id)
    return TransactionCommitted(
        body["commandId"], body["hash"], transaction_from_dict(body["transaction"]), attempt_id
    )


def transaction_to_dict(transaction: Transaction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": transaction.id,
        "kind": transaction.kind,
        "currency": transaction.currency,
        "amount": transaction.amount_minor,
        "createdAt": transaction.created_at.isoformat(),
        "postings": [[p.account_id, p.amount_minor, p.balance_after_minor, p.held_minor]
                     for p in transaction.postings],
    }
    return body | labels_json(transaction.reference, transaction.metadata) | (
        {"holdId": transaction.hold_id} if transaction.hold_id else {})


def transaction_from_dict(body: dict[str, Any]) -> Transaction:
    # Events of an older consumer carry three fields per posting: no held money then.
    postings = tuple(Posting(str(p[0]), int(p[1]), int(p[2]), int(p[3]) if len(p) > 3 else 0)
                     for p in body["postings"])
    return Transaction(
        str(body["id"]), str(body["kind"]), str(body["currency"]), int(body["amount"]),
        datetime.fromisoformat(body["createdAt"]), postings, body.get("reference"),
        _metadata(body), body.get("holdId"),
    )


def hold_to_dict(hold: Hold) -> dict[str, Any]:
    return {"id": hold.id, "userId": hold.user_id, "currency": hold.currency,
            "amount": hold.amount_minor, "status": hold.status, "captured": hold.captured_minor,
            "expiresAt": hold.expires_at.isoformat(), "createdAt": hold.created_at.isoformat(),
            "updatedAt": hold.updated_at.isoformat(), **labels_json(hold.reference, hold.metadata)}


def hold_from_dict(body: dict[str, Any]) -> Hold:
    return Hold(str(body["id"]), str(body["userId"]), str(body["currency"]), int(body["amount"]),
                str(body["status"]), int(body["captured"]),
                datetime.fromisoformat(body["expiresAt"]),
                datetime.fromisoformat(body["createdAt"]),
                datetime.fromisoformat(body["updatedAt"]), body.get("reference"), _metadata(body))


def _metadata(body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(body.get("metadata", {}).items()))
