"""Request validation that reports every bad field at once."""
from __future__ import annotations

import unicodedata

from py_server.errors import InvalidArgument


class Violations:
    """Collects field violations; `raise_if_any()` turns them into INVALID_ARGUMENT."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, description: str) -> None:
        self.items.append((field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def positive_id(self, field: str, value: int) -> None:
        if value <= 0:
            self.add(field, f"must be a positive id, got {value}")

    def in_range(self, field: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            self.add(field, f"must be between {low} and {high}, got {value}")

    def text(self, field: str, value: str, *, min_len: int = 1, max_len: int, multiline: bool = False) -> None:
        """Checks a person-visible string: length in characters and no control characters."""
        if len(value) < min_len:
            self.add(field, "must not be empty" if min_len == 1 else f"must be at least {min_len} characters")
            return
        if len(value) > max_len:
            self.add(field, f"must be at most {max_len} characters, got {len(value)}")
            return
        if min_len and not value.strip():
            self.add(field, "must not be blank")
            return
        allowed = "\n\t" if multiline else ""
        if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
            self.add(field, "must not contain control characters")

    def email(self, field: str, value: str) -> None:
        before = len(self.items)
        self.text(field, value, min_len=3, max_len=254)
        if len(self.items) == before:
            local, at, domain = value.rpartition("@")
            if not at or not local or not domain or " " in value:
                self.add(field, "must be an email address like name@example.com")

    def password(self, field: str, value: str) -> None:
        size = len(value.encode("utf-8"))
        if size < 8:
            self.add(field, "must be at least 8 bytes")
        elif size > 72:
            # bcrypt only reads 72 bytes; refusing beats silently ignoring the rest.
            self.add(field, f"must be at most 72 bytes of UTF-8 (bcrypt's limit), got {size}")
        elif "\x00" in value:
            self.add(field, "must not contain NUL characters")


def page_size(violations: Violations, field: str, value: int) -> int:
    violations.in_range(field, value, 0, 1000)
    return value or 100


def page_token(violations: Violations, field: str, value: str) -> int | None:
    """Page tokens are the last id of the previous page, as a decimal string."""
    if not value:
        return None
    # Bounded before it is converted: an id has at most 10 digits (and isdigit() accepts non-ASCII digits).
    if len(value) > 10 or not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 2**31 - 1:
        violations.add(field, "is not a token this service issued; pass next_page_token unchanged")
        return None
    return int(value)
