"""Reads a request's whole body, decoded and bounded, before anything parses it.

A body may reach the server in many TCP segments; what is buffered when the
handler starts is only a prefix of it, and a prefix of `amount=1000` is
`amount=1`. So the body is read to its end (Content-Length or the last
chunk) under one deadline, both its size on the wire and its decoded size are
capped, and only then does a handler see it. aiohttp's own decompression is
off (see edge.py): an unknown encoding must be refused, not passed through.
"""

import asyncio
import zlib

from aiohttp import web
from wallet.domain.errors import (
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationError,
)
from wallet.entrypoints.request import BODY_BYTES_MAX

READ_CHUNK_BYTES = 16 * 1024
_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
                "deflate": zlib.MAX_WBITS}  # RFC 9110: deflate is the zlib format
_IDENTITY = ("", "identity")
_TOO_LARGE = f"the body must be at most {BODY_BYTES_MAX // 1024} KiB"


async def read_body(request: web.BaseRequest, timeout_s: float) -> bytes:
    """The decoded body; a WalletError when it is too large, too slow or badly encoded."""
    encoding = ", ".join(request.headers.getall("Content-Encoding", [])).strip().lower()
    if encoding not in _IDENTITY and encoding not in _WINDOW_BITS:
        raise UnsupportedMediaType("Content-Encoding must be gzip, deflate or identity")
    if (request.content_length or 0) > BODY_BYTES_MAX:
        raise PayloadTooLarge(_TOO_LARGE)
    if not request.body_exists and encoding in _IDENTITY:  # no length, no chunks: no wait
        return b""
    try:
        async with asyncio.timeout(timeout_s):
            raw = await _read_capped(request)
    except TimeoutError as error:
        raise RequestTimeout(f"the body did not arrive within {timeout_s:g} s") from error
    return raw if encoding in _IDENTITY else decoded(raw, encoding)


async def _read_capped(request: web.BaseRequest) -> bytes:
    parts, size = [], 0
    while chunk := await request.content.read(READ_CHUNK_BYTES):  # b"" only at the end
        size += len(chunk)
        if size > BODY_BYTES_MAX:
            raise PayloadTooLarge(_TOO_LARGE)
        parts.append(chunk)
    return b"".join(parts)


def decoded(raw: bytes, encoding: str) -> bytes:
    """Inflates at most one byte past the cap, so a small bomb never becomes a big buffer."""
    inflater = zlib.decompressobj(_WINDOW_BITS[encoding])
    try:
        body = inflater.decompress(raw, BODY_BYTES_MAX + 1)
    except zlib.error as error:
        raise ValidationError(f"the body is not valid {encoding}", "body") from error
    if len(body) > BODY_BYTES_MAX:
        raise PayloadTooLarge(f"{_TOO_LARGE} once decoded")
    if not inflater.eof or inflater.unused_data:
        raise ValidationError(f"the body is not valid {encoding}: cut short or trailed",
                              "body")
    return body
