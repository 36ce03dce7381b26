"""Request rules a proto cannot state, reported every bad field at once.

Ranges, lengths, patterns and required fields are protovalidate annotations in
the protos, checked before a servicer runs (py_server.validating). What is left
here needs code: a page token is something this service issued, and the
username rules that depend on Unicode normalisation live in py_server.store.identity.
"""
from __future__ import annotations

from py_server.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100  # what a page_size of 0 means (the proto allows 0 to 1000)


class Violations:
    """Collects field violations; `raise_if_any()` turns them into INVALID_ARGUMENT."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, description: str) -> None:
        self.items.append((field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)


def page_token(violations: Violations, field: str, value: str) -> int | None:
    """Page tokens are the last id of the previous page, as a decimal string."""
    if not value:
        return None
    # Bounded before it is converted: an id has at most 10 digits (and isdigit() accepts non-ASCII digits).
    if len(value) > 10 or not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 2**31 - 1:
        violations.add(field, "is not a token this service issued; pass next_page_token unchanged")
        return None
    return int(value)
