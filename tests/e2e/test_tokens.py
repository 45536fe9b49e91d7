"""Forged, stale and malformed tokens against a real `wallet serve`: each is 401, on HTTP and at
the websocket's upgrade, and neither the answer nor the log quotes it.

Each forgery asks for the balance of the wallet its claims name, which the genuine token it
starts from may read: only the flaw can be why it is refused. The control test proves that.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.server import SECRET, Server, client, token, unique

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
HS256 = {"alg": "HS256", "typ": "JWT"}
LATER_S, EARLIER_S = 600, 60


def segment(value: dict[str, Any]) -> str:
    return encode(json.dumps(value).encode())


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def claims(user: str, **changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {"sub": user, "role": "user", "exp": int(time.time()) + 3600}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def hmac_signed(header: dict[str, Any], body: dict[str, Any], key: bytes) -> str:
    """Signed by hand, so that any header and any key (a PEM too) can be used."""
    signing_input = f"{segment(header)}.{segment(body)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{encode(signature)}"


def with_payload(genuine: str, body: dict[str, Any]) -> str:
    """A genuine token's header and signature around other claims."""
    header, _, signature = genuine.split(".")
    return f"{header}.{segment(body)}.{signature}"


def with_header(genuine: str, header: dict[str, Any], signature: str | None = None) -> str:
    _, payload, kept = genuine.split(".")
    return f"{segment(header)}.{payload}.{kept if signature is None else signature}"


def now_s() -> int:
    return int(time.time())


FORGERIES: dict[str, Callable[[str], str]] = {
    "alg none": lambda u: with_header(token(u), {"alg": "none", "typ": "JWT"}, ""),
    "alg None": lambda u: with_header(token(u), {"alg": "None", "typ": "JWT"}, ""),
    "alg NONE keeping the signature": lambda u: with_header(token(u), {"alg": "NONE"}),
    "no signature": lambda u: with_header(token(u), HS256, ""),
    "wrong key": lambda u: token(u, secret="another-secret-" + "z" * 64),
    "expired": lambda u: token(u, ttl_s=-EARLIER_S),
    "exp is now": lambda u: jwt.encode(claims(u, exp=now_s()), SECRET, algorithm="HS256"),
    "not yet valid (nbf)": lambda u: token(u, nbf=now_s() + LATER_S),
    "issued in the future (iat)": lambda u: token(u, iat=now_s() + LATER_S),
    "missing sub": lambda u: jwt.encode(claims(u, sub=None), SECRET, algorithm="HS256"),
    "missing role": lambda u: jwt.encode(claims(u, role=None), SECRET, algorithm="HS256"),
    "missing exp": lambda u: jwt.encode(claims(u, exp=None), SECRET, algorithm="HS256"),
    "tampered role": lambda u: with_payload(token(u), claims(u, role="operator")),
    "tampered sub": lambda u: with_payload(token(unique("mallory")), claims(u)),
    "tampered exp": lambda u: with_payload(token(u, ttl_s=-EARLIER_S), claims(u)),
    "RS256 signed": lambda u: jwt.encode(claims(u), RSA_KEY, algorithm="RS256"),
    "HS256 keyed with the public key PEM": lambda u: hmac_signed(HS256, claims(u), PUBLIC_PEM),
    "RS256 header, HMAC with the real secret": lambda u: hmac_signed(
        {"alg": "RS256", "typ": "JWT"}, claims(u), SECRET.encode()),
    "HS512 with the real secret": lambda u: token(u, algorithm="HS512"),
    "string exp": lambda u: token(u, exp=str(now_s() + 3600)),
    "float exp": lambda u: token(u, exp=now_s() + 3600.0),
    "boolean exp": lambda u: token(u, exp=True),
}


def refused_over_http(api: httpx.Client, user: str, forged: str) -> httpx.Response:
    return api.get(f"/wallet/balance/{user}", headers={"Authorization": f"Bearer {forged}"})


def assert_refused(status: int, body: bytes, forged: str) -> None:
    assert status == 401, body
    error = json.loads(body)["error"]
    assert error["code"] == "unauthorized" and error["message"], body
    assert forged.encode() not in body and SECRET.encode() not in body


def assert_not_logged(server: Server, forged: str) -> None:
    signature = forged.rsplit(".", 1)[-1]
    logs = server.logs()
    assert forged not in logs and (not signature or signature not in logs)


def test_each_forgery_starts_from_a_token_the_server_accepts(unthrottled: Server) -> None:
    """The controls: the genuine token, the hand-made signer, and the tampered claims signed
    properly all pass, so each refusal below comes from the one thing forged."""
    user = unique()
    genuine = [token(user), hmac_signed(HS256, claims(user), SECRET.encode()),
               jwt.encode(claims(user, nbf=now_s() - EARLIER_S, iat=now_s() - EARLIER_S),
                          SECRET, algorithm="HS256")]
    with client(unthrottled) as api:
        for bearer in genuine:
            assert refused_over_http(api, user, bearer).status_code == 200
        operator = jwt.encode(claims(user, role="operator"), SECRET, algorithm="HS256")
        assert api.get("/wallet/history", headers={
            "Authorization": f"Bearer {operator}"}).status_code == 200


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_or_stale_token_is_401_over_http(unthrottled: Server, forgery: str) -> None:
    user = unique()
    forged = FORGERIES[forgery](user)
    with client(unthrottled) as api:
        response = refused_over_http(api, user, forged)
        assert_refused(response.status_code, response.content, forged)
        write = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                         headers={"Authorization": f"Bearer {forged}"})
        assert_refused(write.status_code, write.content, forged)
    assert_not_logged(unthrottled, forged)


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_or_stale_token_is_401_at_the_websocket(unthrottled: Server,
                                                         forgery: str) -> None:
    forged = FORGERIES[forgery](unique())
    url = unthrottled.url.replace("http://", "ws://") + f"/ws?token={forged}"

    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url):
                pass
        response = refused.value.response
        assert_refused(response.status_code, response.body or b"{}", forged)

    asyncio.run(scenario())
    assert_not_logged(unthrottled, forged)
