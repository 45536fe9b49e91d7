"""The hold sweeper on AWS: a schedule invokes it every minute to expire holds past their time.

It appends the expiry of every due hold to the command log (at most
SWEEP_BATCHES_MAX batches a run; the next run takes the rest), and the
consumer applies each once, in order with its wallet's commands. An outage or
a full log ends the run early, logged; the next run finds the holds still due.
"""

from typing import Any

from wallet import bootstrap

SWEEP_BATCHES_MAX = 10  # batches of expiries one run appends: 5,000 holds a minute


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"expiriesAppended": bootstrap.current().sweep_holds(SWEEP_BATCHES_MAX)}
