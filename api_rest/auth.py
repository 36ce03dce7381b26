"""Bearer tokens: HS256 JWTs with `sub` (the user id as a string), `ver` (the user's token
version), `iat` and `exp`.

Only HS256 is accepted: a token whose header names any other algorithm,
`none` included, is refused before its signature is looked at. The token
says who the caller is; whether that user may still act (exists, active,
same token version) is checked against the DB service on every request, so
deactivation and a password change end older tokens at once.

Checking an HS256 signature with PyJWT costs about 100 µs of Python per
request, a tenth of the gateway's work on a GET; a token's signature and
claims never change, so each worker remembers the tokens it has verified
(bounded, see `_VerifiedTokens`) and only re-checks their expiry. Whether the
user may still act is never remembered: the DB service checks it each time.
"""
from __future__ import annotations

import collections
import pathlib
import threading
import time

import jwt

from api_rest.errors import unauthenticated
from py_server import config
from py_server.config import ConfigError

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32
SECRET_FILE = "jwt_secret"
MAX_USER_ID = 2**31 - 1


def check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"MERCH_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters (HS256 needs a 256-bit key); "
            f"it has {len(secret)}"
        )


def dev_secret(state_dir: pathlib.Path) -> str:
    """The dev secret in `state_dir/jwt_secret`, created once (0600) if absent."""
    return config.dev_secret(state_dir, SECRET_FILE, "MERCH_JWT_SECRET")


class _VerifiedTokens:
    """Tokens whose signature and claims were verified: token → (user id, version, exp).

    At most `capacity` entries, the least recently used dropped first, so a
    flood of distinct (valid) tokens costs bounded memory. Invalid tokens are
    never stored: every forged or expired token is checked in full again.
    """

    def __init__(self, capacity: int = 4096):
        self._capacity = capacity
        self._entries: collections.OrderedDict[str, tuple[int, int, int]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[int, int, int] | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._entries.move_to_end(token)
            return entry

    def put(self, token: str, entry: tuple[int, int, int]) -> None:
        with self._lock:
            self._entries[token] = entry
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


_EXPIRED = "the token has expired; log in again (POST /login)"


class TokenAuthority:
    """Issues and checks the gateway's bearer tokens."""

    def __init__(self, secret: str, ttl_seconds: int, *, remembered: int = 4096):
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._verified = _VerifiedTokens(remembered)

    def issue(self, user_id: int, version: int, now: float | None = None) -> str:
        """A token for `user_id` at token version `version` (see merch.store.v1.User.token_version)."""
        issued = int(time.time() if now is None else now)
        claims = {"sub": str(user_id), "ver": version, "iat": issued, "exp": issued + self.ttl_seconds}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def claims(self, token: str) -> tuple[int, int]:
        """(user id, token version) of a valid, current HS256 token; 401 for anything else."""
        known = self._verified.get(token)
        if known is not None:
            user_id, version, expires = known
            if expires <= time.time():  # PyJWT's own rule: expired from `exp` on, no leeway
                raise unauthenticated(_EXPIRED)
            return user_id, version
        user_id, version, expires = self._verify(token)
        self._verified.put(token, (user_id, version, expires))
        return user_id, version

    def _verify(self, token: str) -> tuple[int, int, int]:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub", "ver"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated(_EXPIRED) from None
        except jwt.InvalidAlgorithmError:
            raise unauthenticated(f"the token is not signed with {ALGORITHM}; use a token from POST /login") from None
        except jwt.InvalidTokenError:
            raise unauthenticated("the token is invalid; use a token from POST /login") from None
        subject, version = claims["sub"], claims["ver"]
        if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) <= 10
                and 1 <= int(subject) <= MAX_USER_ID and type(version) is int and 1 <= version <= MAX_USER_ID):
            raise unauthenticated("the token is invalid; use a token from POST /login")
        expires = int(claims["exp"])  # as PyJWT read it when it checked it
        return int(subject), version, expires


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; 401 when absent or of another scheme."""
    if not header:
        raise unauthenticated(
            "this endpoint needs an 'Authorization: Bearer <token>' header; get a token from POST /login",
            invalid_token=False,
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("the Authorization header must be 'Bearer <token>'", invalid_token=False)
    return token.strip()
