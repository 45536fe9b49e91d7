"""The holds list's query string: whose holds, which status, and the signed cursor.

Without `userId` an operator lists every user's holds and a user their own;
the cursor (entrypoints/cursor.py) binds the caller, that wallet and the
status, so it pages only the query that issued it.
"""

import re
from dataclasses import replace

from wallet.domain.errors import ValidationError
from wallet.domain.holds import HOLD_STATUSES
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.entrypoints import cursor
from wallet.entrypoints.history_query import limit_of
from wallet.entrypoints.request import Request, valid_user_id
from wallet.service_layer.ports import HoldQuery, StoredHold

_POSITION = re.compile(r"h([0-9]{1,19})")
_KIND = "holds"  # in the signed scope, so no history cursor can page holds


def holds_query(request: Request) -> HoldQuery:
    query, principal = request.query, request.principal
    raw_user = query.get("userId")
    if raw_user is not None:
        account_id: str | None = valid_user_id(raw_user, "userId")
    else:
        account_id = None if principal.is_operator else principal.subject
    status = query.get("status")
    if status is not None and status not in HOLD_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(HOLD_STATUSES)}", "status")
    unpaged = HoldQuery(account_id, limit_of(query.get("limit")), status)
    raw = query.get("cursor")
    return unpaged if raw is None else replace(unpaged, after_seq=_after(request, unpaged, raw))


def next_cursor(request: Request, query: HoldQuery, holds: list[StoredHold]) -> str:
    return cursor.issue(request, _scope(query), f"h{holds[-1].seq}")


def _scope(query: HoldQuery) -> list[object]:
    return [_KIND, query.account_id, query.status]


def _after(request: Request, query: HoldQuery, raw: str) -> int:
    match = _POSITION.fullmatch(cursor.position_of(request, _scope(query), raw))
    if match is None or int(match.group(1)) > BALANCE_MINOR_MAX:
        raise ValidationError(cursor.NOT_ISSUED, "cursor")  # signed by us: only a key leak
    return int(match.group(1))
