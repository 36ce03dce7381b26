"""Bearer tokens: HS256 JWTs with `sub` (the user id as a string), `iat` and `exp`.

Only HS256 is accepted: a token whose header names any other algorithm,
`none` included, is refused before its signature is looked at. The token
says who the caller is; whether that user may still act (exists, active) is
checked against the DB service on every request, so a deactivated user's
tokens stop working at once.
"""
from __future__ import annotations

import os
import pathlib
import secrets
import time

import jwt

from api_rest.errors import unauthenticated
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
    """The dev secret in `state_dir/jwt_secret`, created once (0600) if absent.

    Creation is atomic: the secret is written to a private temporary file and
    hard-linked into place, so concurrent gateway processes agree on one secret
    and none ever reads a half-written file.
    """
    path = state_dir / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    temporary = state_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: pathlib.Path) -> str:
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds no usable JWT secret; delete it to have a new one generated")
    return secret


class TokenAuthority:
    """Issues and checks the gateway's bearer tokens."""

    def __init__(self, secret: str, ttl_seconds: int):
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: int, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"sub": str(user_id), "iat": issued, "exp": issued + self.ttl_seconds}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def user_id(self, token: str) -> int:
        """The user id the token was issued to; 401 for anything but a valid, current HS256 token."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("the token has expired; log in again (POST /login)") from None
        except jwt.InvalidAlgorithmError:
            raise unauthenticated(f"the token is not signed with {ALGORITHM}; use a token from POST /login") from None
        except jwt.InvalidTokenError:
            raise unauthenticated("the token is invalid; use a token from POST /login") from None
        subject = claims["sub"]
        if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()
                and 1 <= int(subject) <= MAX_USER_ID):
            raise unauthenticated("the token is invalid; use a token from POST /login")
        return int(subject)


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
