"""The ledger consumer: applies one polled batch of commands in one database transaction.

An exception propagates on purpose: the event source then redelivers the
batch and commits no offset, and per-command ids make the retry harmless.
"""

from typing import Any

from wallet import bootstrap
from wallet.entrypoints.kafka_event import record_values


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    outcomes = bootstrap.current().consumer.handle(record_values(event))
    return {"applied": len(outcomes)}
