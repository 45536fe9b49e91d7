"""adapters/jwt_tokens.py: HS256 only, every claim required, and Unauthorized for the rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.domain.access import Principal
from wallet.domain.errors import Unauthorized

from ..fakes import ALICE, OPERATOR, SECRET

TOKENS = JwtTokens(SECRET)


def claims(**changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {"sub": "alice", "role": "user", "exp": int(time.time()) + 60}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def signed(body: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(body, secret, algorithm=algorithm)


def segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("principal", [ALICE, OPERATOR, Principal("a.b-c_d@e", "user")])
def test_issue_then_verify_round_trips(principal: Principal) -> None:
    assert TOKENS.verify(TOKENS.issue(principal, 60)) == principal


def test_a_hand_made_hs256_token_with_every_claim_is_accepted() -> None:
    """Guards the refusals below: each starts from this token and changes one thing."""
    assert TOKENS.verify(signed(claims())) == ALICE


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthorized, match="expired"):
        TOKENS.verify(TOKENS.issue(ALICE, -1))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(JwtTokens("another-secret-of-32-characters!").issue(ALICE, 60))


def test_an_unsigned_alg_none_token_is_refused() -> None:
    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."
    with pytest.raises(Unauthorized):
        TOKENS.verify(token)


def test_an_hs512_token_with_the_right_secret_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(signed(claims(), algorithm="HS512"))


def test_an_rs256_header_is_refused() -> None:
    genuine = signed(claims())
    forged = ".".join([segment({"alg": "RS256", "typ": "JWT"}), *genuine.split(".")[1:]])
    with pytest.raises(Unauthorized):
        TOKENS.verify(forged)


@pytest.mark.parametrize("claim", ["exp", "sub", "role"])
def test_a_token_missing_a_required_claim_is_refused(claim: str) -> None:
    body = claims()
    del body[claim]
    with pytest.raises(Unauthorized):
        TOKENS.verify(signed(body))


@pytest.mark.parametrize("role", ["admin", "USER", "", 1])
def test_a_token_with_an_unknown_role_is_refused(role: object) -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(signed(claims(role=role)))


@pytest.mark.parametrize("role", [["operator"], {"operator": True}])
def test_a_token_with_a_non_string_role_is_refused(role: object) -> None:
    """`role not in ROLES` hashes the claim: a JSON list or object raises TypeError."""
    with pytest.raises(Unauthorized):
        TOKENS.verify(signed(claims(role=role)))


@pytest.mark.parametrize(
    "subject", ["system:deposits", "a b", "", "x" * 65, "al|ice", "ålice", 42, ["alice"]]
)
def test_a_token_whose_sub_is_not_a_user_id_is_refused(subject: object) -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(signed(claims(sub=subject)))


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "Bearer x", "...", "eyJ.eyJ.x"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(token)


def test_a_short_secret_is_a_programmer_error() -> None:
    with pytest.raises(AssertionError):
        JwtTokens("too-short")


def raw_signed(payload: str) -> str:
    """A token whose claims are this exact JSON text, so non-Python JSON (1e400) can be sent."""
    header = segment({"alg": "HS256", "typ": "JWT"})
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    signature = jwt.api_jws.get_algorithm_by_name("HS256").sign(
        f"{header}.{body}".encode(), SECRET.encode())
    return f"{header}.{body}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


SOON = int(time.time()) + 3600
NOT_NUMERIC_DATES = [str(SOON), float(SOON), True, 10**30, 0, -1, [SOON], {"at": SOON}]


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", NOT_NUMERIC_DATES, ids=repr)
def test_a_time_claim_must_be_a_whole_number_of_seconds_in_range(
    claim: str, value: object
) -> None:
    """A numeric string or a float is not an integer, and 10^30 is no date at all."""
    with pytest.raises(Unauthorized) as refused:
        TOKENS.verify(signed(claims(**{claim: value})))
    assert claim in refused.value.message
    assert SECRET not in refused.value.message


@pytest.mark.parametrize("literal", ["1e400", "NaN", "-Infinity", "1.0", "9" * 5000])
def test_a_time_claim_that_python_cannot_hold_as_an_int_is_refused(literal: str) -> None:
    base = '{"sub": "alice", "role": "user"'
    with pytest.raises(Unauthorized):
        TOKENS.verify(raw_signed(f'{base}, "exp": {literal}}}'))
    with pytest.raises(Unauthorized):
        TOKENS.verify(raw_signed(f'{base}, "exp": {SOON}, "iat": {literal}}}'))


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_integer_iat_and_nbf_in_the_past_are_accepted(claim: str) -> None:
    assert TOKENS.verify(signed(claims(**{claim: int(time.time()) - 5}))) == ALICE


def test_a_token_not_yet_valid_is_refused() -> None:
    with pytest.raises(Unauthorized, match="not yet valid"):
        TOKENS.verify(signed(claims(nbf=int(time.time()) + 600)))


def test_a_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(Unauthorized, match="iat"):
        TOKENS.verify(signed(claims(iat=int(time.time()) + 600)))


def test_the_principal_carries_the_tokens_expiry() -> None:
    """The websocket relay closes a socket at this instant."""
    assert TOKENS.verify(signed(claims(exp=SOON))).expires_at_epoch_s == SOON


class Clock:
    """Seconds since 1970, moved by hand: a verified token must still expire on time."""

    def __init__(self) -> None:
        self.now_s = time.time()

    def __call__(self) -> float:
        return self.now_s


def test_a_verified_token_is_refused_once_its_exp_passes() -> None:
    clock = Clock()
    tokens = JwtTokens(SECRET, clock=clock)
    token = tokens.issue(ALICE, 60)
    assert tokens.verify(token) == ALICE
    clock.now_s += 61
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(token)


def test_a_verified_token_is_decoded_once() -> None:
    """The signature is checked on the first sight of a token, not on every request."""
    tokens = JwtTokens(SECRET)
    token = tokens.issue(ALICE, 60)
    tokens.verify(token)
    decoded: list[str] = []
    original = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jwt, "decode", counting)
        assert tokens.verify(token) == ALICE
    assert decoded == []


def test_the_verified_tokens_kept_are_bounded() -> None:
    tokens = JwtTokens(SECRET, verified_max=2)
    for subject in ("alice", "bob", "carol"):
        tokens.verify(tokens.issue(Principal(subject, "user"), 60))
    assert tokens.verified_count() == 2


def test_a_refused_token_is_refused_again() -> None:
    """Only successes are kept: a bad token pays for its check each time."""
    tokens = JwtTokens(SECRET)
    token = signed(claims(), secret="another-secret-" * 4)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            tokens.verify(token)
    assert tokens.verified_count() == 0


# Forgeries an attacker builds by hand: RS/HS confusion, a tampered payload, `none` in any case.
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def hmac_token(header: dict[str, Any], body: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 by hand: PyJWT will not key HMAC with a PEM, an attacker will."""
    signing_input = f"{segment(header)}.{segment(body)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def test_the_hand_made_signer_makes_tokens_that_pass() -> None:
    """Guards the forgeries below: with the right header and key they would be accepted."""
    assert TOKENS.verify(hmac_token({"alg": "HS256", "typ": "JWT"}, claims(),
                                    SECRET.encode())) == ALICE


def test_a_token_signed_with_rs256_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(jwt.encode(claims(role="operator"), RSA_KEY, algorithm="RS256"))


def test_an_hs256_token_keyed_with_a_public_key_pem_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TOKENS.verify(hmac_token({"alg": "HS256", "typ": "JWT"}, claims(), PUBLIC_PEM))


def test_an_rs256_header_over_an_hmac_with_the_real_secret_is_refused() -> None:
    """The signature is right for HS256: only the algorithm the header names is wrong."""
    with pytest.raises(Unauthorized):
        TOKENS.verify(hmac_token({"alg": "RS256", "typ": "JWT"}, claims(), SECRET.encode()))


@pytest.mark.parametrize("change", [{"role": "operator"}, {"sub": "bob"},
                                    {"exp": int(time.time()) + 86_400}], ids=repr)
def test_a_tampered_payload_under_a_genuine_signature_is_refused(change: dict[str, Any]) -> None:
    header, _, signature = signed(claims()).split(".")
    with pytest.raises(Unauthorized):
        TOKENS.verify(f"{header}.{segment(claims(**change))}.{signature}")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("keep_signature", [False, True])
def test_alg_none_in_any_case_is_refused(alg: str, keep_signature: bool) -> None:
    genuine = signed(claims()).split(".")
    token = ".".join([segment({"alg": alg, "typ": "JWT"}), genuine[1],
                      genuine[2] if keep_signature else ""])
    with pytest.raises(Unauthorized):
        TOKENS.verify(token)


def test_a_genuine_header_and_payload_with_no_signature_is_refused() -> None:
    header, payload, _ = signed(claims()).split(".")
    with pytest.raises(Unauthorized):
        TOKENS.verify(f"{header}.{payload}.")


def test_a_token_whose_exp_is_this_second_is_refused() -> None:
    """`exp` is the first second the token is no longer valid (RFC 7519, 4.1.4)."""
    clock = Clock()
    with pytest.raises(Unauthorized, match="expired"):
        JwtTokens(SECRET, clock=clock).verify(signed(claims(exp=int(clock.now_s))))
