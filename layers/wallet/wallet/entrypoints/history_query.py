"""History's query string: filters, ordering and the opaque, signed cursor.

A cursor is the position of the previous page's last entry, signed with the
server's cursor key over that position *and* the query that issued it (the
caller, the wallet or all wallets, sort, order and every filter). So a cursor
cannot be forged, nor carried to another user, wallet, sort or filter: each
of those is a 400 on `cursor`, never a page of something else.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time

from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX, ENTRY_TYPES
from wallet.domain.money import ExactDecimal, whole_number
from wallet.entrypoints.request import Request
from wallet.service_layer.ports import HistoryEntry, HistoryQuery
from wallet.service_layer.wallet import HistoryFilters

LIMIT_DEFAULT, LIMIT_MAX = 50, 200
LIMIT_DIGITS_MAX = 4
_POSITION = re.compile(r"s([0-9]{1,19})|a([0-9]{1,19})\.([0-9]{1,19})")  # by time | by amount
SORTS = ("time", "amount")
CURSOR_MAC_BYTES = 16  # 128 bits of HMAC-SHA256: far beyond guessing, and a short cursor
_NOT_ISSUED = "cursor is not one this API issued for this query"


def history_filters(request: Request) -> HistoryFilters:
    query = request.query
    currency = query.get("currency")
    unpaged = HistoryFilters(
        HistoryQuery(
            account_id=request.path_user_id() if "userId" in request.path_parameters else None,
            limit=_limit(query.get("limit")),
            ascending=_ascending(query.get("order")),
            by_amount=_choice(query.get("sort"), SORTS, "sort") == "amount",
            entry_type=_choice(query.get("type"), ENTRY_TYPES, "type"),
            currency=None if currency is None else request.currency(currency).code,
            created_from=_moment(query.get("from"), "from", end_of_day=False),
            created_to=_moment(query.get("to"), "to", end_of_day=True),
        ),
        _bound(query.get("minAmount"), "minAmount"), _bound(query.get("maxAmount"), "maxAmount"),
    )
    after_seq, after_amount = _cursor(request, unpaged, query.get("cursor"))
    paged = replace(unpaged.query, after_seq=after_seq, after_amount_minor=after_amount)
    return replace(unpaged, query=paged)


def next_cursor(request: Request, filters: HistoryFilters, entries: list[HistoryEntry]) -> str:
    """Where the next page starts: the last entry's seq, and its amount when sorted by it."""
    last = entries[-1]
    position = f"a{last.amount_minor}.{last.seq}" if filters.query.by_amount else f"s{last.seq}"
    signed = _mac(request, filters, position) + position.encode()
    return base64.urlsafe_b64encode(signed).decode().rstrip("=")


def _mac(request: Request, filters: HistoryFilters, position: str) -> bytes:
    query = filters.query
    bound = json.dumps([  # JSON: no value can shift a boundary between fields
        request.principal.subject, query.account_id, query.by_amount, query.ascending,
        query.entry_type, query.currency, _text(query.created_from), _text(query.created_to),
        _text(filters.amount_min), _text(filters.amount_max), position])
    mac = hmac.new(request.rules.cursor_key, bound.encode(), hashlib.sha256)
    return mac.digest()[:CURSOR_MAC_BYTES]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _cursor(
    request: Request, filters: HistoryFilters, raw: str | None
) -> tuple[int | None, int | None]:
    """(seq, amount) of the previous page's last entry, if this query issued the cursor."""
    if raw is None:
        return None, None
    try:
        signed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        mac, position = signed[:CURSOR_MAC_BYTES], signed[CURSOR_MAC_BYTES:].decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(_NOT_ISSUED, "cursor") from exc
    match = _POSITION.fullmatch(position)
    if match is None or not hmac.compare_digest(mac, _mac(request, filters, position)):
        raise ValidationError(_NOT_ISSUED, "cursor")
    numbers = [int(part) for part in match.groups() if part is not None]
    if max(numbers) > BALANCE_MINOR_MAX or (match.group(2) is not None) != filters.query.by_amount:
        raise ValidationError(_NOT_ISSUED, "cursor")  # signed by us: only a key leak gets here
    return (numbers[0], None) if len(numbers) == 1 else (numbers[1], numbers[0])


def _limit(raw: str | None) -> int:
    if raw is None:
        return LIMIT_DEFAULT
    limit = whole_number(raw, LIMIT_DIGITS_MAX)
    if limit is None or not 1 <= limit <= LIMIT_MAX:
        raise ValidationError(f"limit must be a whole number from 1 to {LIMIT_MAX}", "limit")
    return limit


def _ascending(raw: str | None) -> bool:
    return _choice(raw, ("asc", "desc"), "order") == "asc"


def _choice(raw: str | None, choices: tuple[str, ...], field: str) -> str | None:
    if raw is not None and raw not in choices:
        raise ValidationError(f"{field} must be one of {', '.join(choices)}", field)
    return raw


def _bound(raw: str | None, field: str) -> ExactDecimal | None:
    """Parsed here, once: the service layer only converts the value per currency."""
    if raw is None:
        return None
    value = ExactDecimal.parse(raw)
    if value is None:
        raise ValidationError(f"{field} must be a non-negative decimal such as 10.50", field)
    return value


def _moment(raw: str | None, field: str, end_of_day: bool) -> datetime | None:
    """ISO 8601 date or date-time; a bare date covers its whole day, and no offset means UTC."""
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        return datetime.combine(day, time.max if end_of_day else time(), UTC)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise ValidationError(f"{field} must be an ISO 8601 date or date-time", field) from exc
    try:  # in UTC now, where the store compares: an offset may push it past year 1 or 9999
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValidationError(f"{field} must fall within the years 1 to 9999 in UTC",
                              field) from exc
