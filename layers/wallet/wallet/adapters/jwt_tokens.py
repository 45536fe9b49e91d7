"""HS256 JSON Web Tokens via PyJWT. Only HS256 is accepted; `none` and RS/ES are refused."""

import time

import jwt

from wallet.domain.access import ROLES, USER_ID, Principal
from wallet.domain.errors import Unauthorized
from wallet.service_layer.ports import TokenCodec

ALGORITHM = "HS256"


class JwtTokens(TokenCodec):
    def __init__(self, secret: str) -> None:
        assert len(secret) >= 32, "short HMAC secrets are guessable"
        self._secret = secret

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM],
                                options={"require": ["exp", "sub", "role"]})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is invalid") from exc
        subject, role = claims["sub"], claims["role"]
        if not isinstance(subject, str) or not USER_ID.fullmatch(subject):
            raise Unauthorized("the token's sub is not a valid user id")
        if not isinstance(role, str) or role not in ROLES:
            raise Unauthorized("the token's role must be user or operator")
        return Principal(subject, role)

    def issue(self, principal: Principal, ttl_s: int) -> str:
        now = int(time.time())
        claims = {"sub": principal.subject, "role": principal.role, "iat": now, "exp": now + ttl_s}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)
