"""HS256 JSON Web Tokens via PyJWT. Only HS256 is accepted; `none` and RS/ES are refused.

The time claims are checked here rather than by PyJWT, which casts them with
`int()`: it would take the string "9999999999", truncate a float, read `true`
as 1 and accept an `exp` of 10^30, a token that never expires.

A client sends one token with every request until it expires, and checking
its signature is most of a read's cost: each distinct token is verified once,
then served from a bounded memo that still refuses it the moment its `exp`
passes. Only tokens that passed every check are kept.
"""

import threading
import time
from collections.abc import Callable, Mapping

import jwt

from wallet.domain.access import ROLES, USER_ID, Principal
from wallet.domain.errors import Unauthorized
from wallet.service_layer.ports import TokenCodec

ALGORITHM = "HS256"
TIME_CLAIMS = ("exp", "iat", "nbf")  # RFC 7519 NumericDates; we take whole seconds only
EPOCH_S_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z: a later date is no date
VERIFIED_TOKENS_MAX = 10_000  # about 3 MB; past it the oldest entry is checked afresh next time


class JwtTokens(TokenCodec):
    def __init__(self, secret: str, verified_max: int = VERIFIED_TOKENS_MAX,
                 clock: Callable[[], float] = time.time) -> None:
        assert len(secret) >= 32, "short HMAC secrets are guessable"
        assert verified_max > 0
        self._secret, self._verified_max, self._clock = secret, verified_max, clock
        self._verified: dict[str, Principal] = {}  # insertion order: the oldest first
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None:
            principal = self._decode(token)
            self._remember(token, principal)
        elif principal.expired(int(self._clock())):  # every kept one has an expiry
            with self._lock:
                self._verified.pop(token, None)
            raise Unauthorized("the token has expired")
        return principal

    def verified_count(self) -> int:
        return len(self._verified)

    def _remember(self, token: str, principal: Principal) -> None:
        with self._lock:
            while len(self._verified) >= self._verified_max:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = principal

    def _decode(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={
                "require": ["exp", "sub", "role"],  # the time claims are checked below
                "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is invalid") from exc
        expires_at_epoch_s = _check_times(claims, int(self._clock()))
        subject, role = claims["sub"], claims["role"]
        if not isinstance(subject, str) or not USER_ID.fullmatch(subject):
            raise Unauthorized("the token's sub is not a valid user id")
        if not isinstance(role, str) or role not in ROLES:
            raise Unauthorized("the token's role must be user or operator")
        return Principal(subject, role, expires_at_epoch_s)

    def issue(self, principal: Principal, ttl_s: int) -> str:
        now = int(self._clock())
        claims = {"sub": principal.subject, "role": principal.role, "iat": now, "exp": now + ttl_s}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


def _check_times(claims: Mapping[str, object], now_s: int) -> int:
    """The token's expiry, once every time claim is a sane integer and `now` is inside them."""
    for claim in TIME_CLAIMS:
        value = claims.get(claim)
        # bool is an int subclass: `true` must not pass as 1
        if claim in claims and (type(value) is not int or not 0 < value <= EPOCH_S_MAX):
            raise Unauthorized(f"the token's {claim} must be whole seconds since 1970, "
                               "before the year 10000")
    expires_at_epoch_s = claims["exp"]
    assert isinstance(expires_at_epoch_s, int), "checked above, and required by decode"
    if expires_at_epoch_s <= now_s:
        raise Unauthorized("the token has expired")
    if _after(claims.get("nbf"), now_s):
        raise Unauthorized("the token is not yet valid (nbf)")
    if _after(claims.get("iat"), now_s):
        raise Unauthorized("the token's iat is in the future")
    return expires_at_epoch_s


def _after(epoch_s: object, now_s: int) -> bool:
    return isinstance(epoch_s, int) and epoch_s > now_s
