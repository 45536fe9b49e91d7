"""adapters/jwt_tokens.py: HS256 only, every claim required, and Unauthorized for the rest."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
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
