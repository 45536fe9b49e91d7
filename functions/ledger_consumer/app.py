"""The ledger consumer: applies one polled batch of commands in one database transaction.

It receives MSK and SelfManagedKafka events: records grouped by
`"<topic>-<partition>"`, with base64 `key` and `value`. The batch is applied
once; a redelivered batch is harmless, because each command id is applied
only once.

A poison record (one that cannot be decoded into a command) is reported as a
batch item failure, identified by its topic-partition and offset:

    {"batchItemFailures": [{"itemIdentifier": {"partition": "wallet.commands-3", "offset": 42}}]}

The event source (Lambda's Kafka event source mapping on AWS, `wallet
bridge` on the emulator, the poller locally) commits up to it, redelivers
from it, and after its bounded retries sends it to `<topic>.dlq`.

A command that decodes but raises while applied is isolated by the consumer
itself: it dead-letters the record and records the command's rejection
(`unprocessable_command`), and the rest of the batch commits.

Only the database's outage (`Unavailable`) raises, on purpose: the event
source then retries the whole batch and commits no offset.
"""

from typing import Any

from wallet import bootstrap
from wallet.entrypoints.kafka_event import batch_response, event_records


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = event_records(event)
    outcomes, poison = bootstrap.current().consumer.apply([r.value for r in records])
    return {"applied": len(outcomes), **batch_response(records[p.index] for p in poison)}
