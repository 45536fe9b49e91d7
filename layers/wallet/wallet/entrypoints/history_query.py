"""History's query string: filters, ordering and the opaque cursor."""

import base64
import binascii
import re
from datetime import UTC, date, datetime, time

from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.entrypoints.request import Request
from wallet.service_layer.ports import HistoryEntry, HistoryQuery
from wallet.service_layer.wallet import HistoryFilters

LIMIT_DEFAULT, LIMIT_MAX = 50, 200
ENTRY_TYPES = ("deposit", "payout", "transfer_in", "transfer_out")
_CURSOR = re.compile(r"s([0-9]{1,19})|a([0-9]{1,19})\.([0-9]{1,19})")  # by time | by amount
SORTS = ("time", "amount")
_DIGITS = re.compile(r"[0-9]{1,4}")  # ASCII only: str.isdigit() also admits "²"
_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")


def history_filters(request: Request) -> HistoryFilters:
    query = request.query
    currency = query.get("currency")
    low, high = _bound(query.get("minAmount"), "minAmount"), _bound(
        query.get("maxAmount"), "maxAmount")
    by_amount = _choice(query.get("sort"), SORTS, "sort") == "amount"
    after_seq, after_amount = _cursor(query.get("cursor"), by_amount)
    return HistoryFilters(
        HistoryQuery(
            account_id=request.path_user_id() if "userId" in request.path_parameters else None,
            limit=_limit(query.get("limit")),
            after_seq=after_seq,
            after_amount_minor=after_amount,
            ascending=_ascending(query.get("order")),
            by_amount=by_amount,
            entry_type=_choice(query.get("type"), ENTRY_TYPES, "type"),
            currency=None if currency is None else request.currency(currency).code,
            created_from=_moment(query.get("from"), "from", end_of_day=False),
            created_to=_moment(query.get("to"), "to", end_of_day=True),
        ),
        low, high,
    )


def next_cursor(entries: list[HistoryEntry], by_amount: bool = False) -> str:
    """Where the next page starts: the last entry's seq, and its amount when sorted by it."""
    last = entries[-1]
    text = f"a{last.amount_minor}.{last.seq}" if by_amount else f"s{last.seq}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor(raw: str | None, by_amount: bool) -> tuple[int | None, int | None]:
    """(seq, amount) of the previous page's last entry; a cursor of the other sort is refused."""
    if raw is None:
        return None, None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("cursor is not one this API issued", "cursor") from exc
    match = _CURSOR.fullmatch(text)
    if match is None or (match.group(2) is not None) != by_amount:
        raise ValidationError("cursor is not one this API issued for this sort", "cursor")
    numbers = [int(part) for part in match.groups() if part is not None]
    if max(numbers) > BALANCE_MINOR_MAX:
        raise ValidationError("cursor is not one this API issued", "cursor")
    return (numbers[0], None) if not by_amount else (numbers[1], numbers[0])


def _limit(raw: str | None) -> int:
    if raw is None:
        return LIMIT_DEFAULT
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= LIMIT_MAX:
        raise ValidationError(f"limit must be a whole number from 1 to {LIMIT_MAX}", "limit")
    return int(raw)


def _ascending(raw: str | None) -> bool:
    return _choice(raw, ("asc", "desc"), "order") == "asc"


def _choice(raw: str | None, choices: tuple[str, ...], field: str) -> str | None:
    if raw is not None and raw not in choices:
        raise ValidationError(f"{field} must be one of {', '.join(choices)}", field)
    return raw


def _bound(raw: str | None, field: str) -> str | None:
    if raw is not None and not _DECIMAL.fullmatch(raw):
        raise ValidationError(f"{field} must be a non-negative decimal such as 10.50", field)
    return raw


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
