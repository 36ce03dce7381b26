"""TokenAuthority: verified tokens are remembered, but expiry, forgery and bounds still hold."""
from __future__ import annotations

import time

import jwt
import pytest

from api_rest.auth import TokenAuthority
from api_rest.errors import ApiError

SECRET = "s" * 40


def _refused(authority: TokenAuthority, token: str) -> str:
    with pytest.raises(ApiError) as raised:
        authority.claims(token)
    assert raised.value.status == 401
    return raised.value.message


def test_a_remembered_token_still_expires(monkeypatch):
    authority = TokenAuthority(SECRET, ttl_seconds=60)
    now = time.time()
    token = authority.issue(7, 3, now=now)
    assert authority.claims(token) == (7, 3)
    assert authority.claims(token) == (7, 3)  # from memory now
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert "expired" in _refused(authority, token)


def test_a_token_is_remembered_only_once_verified():
    authority = TokenAuthority(SECRET, ttl_seconds=60)
    good = authority.issue(7, 3)
    header, payload, _signature = good.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    for _ in range(2):  # the second refusal is a full check again, not a remembered answer
        assert "invalid" in _refused(authority, forged)
    other_key = jwt.encode({"sub": "7", "ver": 3, "iat": int(time.time()), "exp": int(time.time()) + 60},
                           "x" * 40, algorithm="HS256")
    assert "invalid" in _refused(authority, other_key)
    assert authority.claims(good) == (7, 3)


def test_memory_is_bounded():
    authority = TokenAuthority(SECRET, ttl_seconds=60, remembered=8)
    tokens = [authority.issue(user_id, 1) for user_id in range(1, 30)]
    for token in tokens:
        authority.claims(token)
    assert len(authority._verified._entries) == 8
    assert authority.claims(tokens[0]) == (1, 1)  # forgotten, verified again
