"""HS256 JSON Web Tokens via PyJWT. Only HS256 is accepted; `none` and RS/ES are refused.

The time claims are checked here rather than by PyJWT, which casts them with
`int()`: it would take the string "9999999999", truncate a float, read `true`
as 1 and accept an `exp` of 10^30, a token that never expires.
"""

import time
from collections.abc import Mapping

import jwt

from wallet.domain.access import ROLES, USER_ID, Principal
from wallet.domain.errors import Unauthorized
from wallet.service_layer.ports import TokenCodec

ALGORITHM = "HS256"
TIME_CLAIMS = ("exp", "iat", "nbf")  # RFC 7519 NumericDates; we take whole seconds only
EPOCH_S_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z: a later date is no date


class JwtTokens(TokenCodec):
    def __init__(self, secret: str) -> None:
        assert len(secret) >= 32, "short HMAC secrets are guessable"
        self._secret = secret

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={
                "require": ["exp", "sub", "role"],  # the time claims are checked below
                "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is invalid") from exc
        expires_at_epoch_s = _check_times(claims, int(time.time()))
        subject, role = claims["sub"], claims["role"]
        if not isinstance(subject, str) or not USER_ID.fullmatch(subject):
            raise Unauthorized("the token's sub is not a valid user id")
        if not isinstance(role, str) or role not in ROLES:
            raise Unauthorized("the token's role must be user or operator")
        return Principal(subject, role, expires_at_epoch_s)

    def issue(self, principal: Principal, ttl_s: int) -> str:
        now = int(time.time())
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
