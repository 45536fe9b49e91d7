"""History's query string: filters, labels, ordering and the opaque, signed cursor.

The cursor (entrypoints/cursor.py) is signed over the caller, the wallet or
all wallets, sort, order and every filter, labels included: carried to
another query it is a 400 on `cursor`, never a page of something else.
"""

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time

from wallet.domain.errors import ValidationError
from wallet.domain.labels import valid_metadata, valid_reference
from wallet.domain.ledger import BALANCE_MINOR_MAX, ENTRY_TYPES
from wallet.domain.money import ExactDecimal, whole_number
from wallet.entrypoints import cursor
from wallet.entrypoints.request import METADATA_PREFIX, Request, parse_moment
from wallet.service_layer.ports import HistoryEntry, HistoryQuery
from wallet.service_layer.wallet import HistoryFilters

LIMIT_DEFAULT, LIMIT_MAX = 50, 200
LIMIT_DIGITS_MAX = 4
_POSITION = re.compile(r"s([0-9]{1,19})|a([0-9]{1,19})\.([0-9]{1,19})")  # by time | by amount
SORTS = ("time", "amount")
Labels = tuple[tuple[str, str], ...]


def history_filters(request: Request) -> HistoryFilters:
    query = request.query
    currency = query.get("currency")
    unpaged = HistoryFilters(
        HistoryQuery(
            account_id=request.path_user_id() if "userId" in request.path_parameters else None,
            limit=limit_of(query.get("limit")),
            ascending=_ascending(query.get("order")),
            by_amount=_choice(query.get("sort"), SORTS, "sort") == "amount",
            entry_type=_choice(query.get("type"), ENTRY_TYPES, "type"),
            currency=None if currency is None else request.currency(currency).code,
            created_from=_moment(query.get("from"), "from", end_of_day=False),
            created_to=_moment(query.get("to"), "to", end_of_day=True),
            labels=labels(query),
        ),
        _bound(query.get("minAmount"), "minAmount"), _bound(query.get("maxAmount"), "maxAmount"),
    )
    after_seq, after_amount = _after(request, unpaged, query.get("cursor"))
    paged = replace(unpaged.query, after_seq=after_seq, after_amount_minor=after_amount)
    return replace(unpaged, query=paged)


def next_cursor(request: Request, filters: HistoryFilters, entries: list[HistoryEntry]) -> str:
    """Where the next page starts: the last entry's seq, and its amount when sorted by it."""
    last = entries[-1]
    position = f"a{last.amount_minor}.{last.seq}" if filters.query.by_amount else f"s{last.seq}"
    return cursor.issue(request, _scope(filters), position)


def labels(query: Mapping[str, str]) -> Labels:
    """`reference=` and each `metadata.<key>=`, exact matches, checked as a write's labels
    are: a filter no transaction could match is a mistake worth a 400."""
    found: list[tuple[str, str]] = []
    if "reference" in query:
        found.append(("reference", valid_reference(query["reference"])))
    if "metadata" in query:
        raise ValidationError("filter by metadata.<key>=<value>", "metadata")
    metadata = {name.removeprefix(METADATA_PREFIX): value for name, value in query.items()
                if name.startswith(METADATA_PREFIX)}
    found.extend((f"{METADATA_PREFIX}{key}", value) for key, value in valid_metadata(metadata))
    return tuple(sorted(found))


def _scope(filters: HistoryFilters) -> list[object]:
    """Everything that chose the entries. Labels join only when given, so a cursor issued
    before labels existed still reads back."""
    query = filters.query
    scope: list[object] = [
        query.account_id, query.by_amount, query.ascending, query.entry_type, query.currency,
        _text(query.created_from), _text(query.created_to), _text(filters.amount_min),
        _text(filters.amount_max)]
    return [*scope, [list(pair) for pair in query.labels]] if query.labels else scope


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _after(
    request: Request, filters: HistoryFilters, raw: str | None
) -> tuple[int | None, int | None]:
    """(seq, amount) of the previous page's last entry, if this query issued the cursor."""
    if raw is None:
        return None, None
    match = _POSITION.fullmatch(cursor.position_of(request, _scope(filters), raw))
    if match is None:
        raise ValidationError(cursor.NOT_ISSUED, "cursor")  # signed by us: only a key leak
    numbers = [int(part) for part in match.groups() if part is not None]
    if max(numbers) > BALANCE_MINOR_MAX or (match.group(2) is not None) != filters.query.by_amount:
        raise ValidationError(cursor.NOT_ISSUED, "cursor")
    return (numbers[0], None) if len(numbers) == 1 else (numbers[1], numbers[0])


def limit_of(raw: str | None) -> int:
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
        return parse_moment(raw, field)
    return datetime.combine(day, time.max if end_of_day else time(), UTC)
