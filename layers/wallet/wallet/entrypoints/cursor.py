"""Opaque, signed cursors: where the next page starts, bound to the query that issued it.

A cursor is a position (the previous page's last row) signed with the
server's cursor key over that position, the caller, and the query's scope:
every parameter that chose the rows. So a cursor cannot be forged, nor
carried to another user or another query: each is a 400 on `cursor`, never
a page of something else. History and the holds list both page this way.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence

from wallet.domain.errors import ValidationError
from wallet.entrypoints.request import Request

CURSOR_MAC_BYTES = 16  # 128 bits of HMAC-SHA256: far beyond guessing, and a short cursor
NOT_ISSUED = "cursor is not one this API issued for this query"

Scope = Sequence[object]  # JSON values: no value can shift a boundary between them


def issue(request: Request, scope: Scope, position: str) -> str:
    signed = _mac(request, scope, position) + position.encode()
    return base64.urlsafe_b64encode(signed).decode().rstrip("=")


def position_of(request: Request, scope: Scope, raw: str) -> str:
    """The position a cursor carries, if this caller's query issued it."""
    try:
        signed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        mac, position = signed[:CURSOR_MAC_BYTES], signed[CURSOR_MAC_BYTES:].decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(NOT_ISSUED, "cursor") from exc
    if not hmac.compare_digest(mac, _mac(request, scope, position)):
        raise ValidationError(NOT_ISSUED, "cursor")
    return position


def _mac(request: Request, scope: Scope, position: str) -> bytes:
    bound = json.dumps([request.principal.subject, *scope, position])
    mac = hmac.new(request.rules.cursor_key, bound.encode(), hashlib.sha256)
    return mac.digest()[:CURSOR_MAC_BYTES]
