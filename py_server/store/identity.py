"""Usernames and emails as people mean them: one identity however it is typed.

A username is stored NFKC-normalised (so a full-width `ａｌｉｃｅ` is `alice`)
and compared case-insensitively through its key, the NFKC case fold; an
email is compared case-insensitively. Characters that make two names look
alike while differing (format characters such as the zero-width space,
controls, unassigned or private-use code points) and leading or trailing
whitespace are refused, not silently removed.
"""
from __future__ import annotations

import unicodedata

from py_server.validation import Violations

# Unicode general categories refused in a username: controls, format characters (zero-width
# space and joiners, bidi marks), line and paragraph separators, surrogates, private use, unassigned.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def normal_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username)


def username_key(username: str) -> str:
    """What uniqueness and login compare: NFKC, case-folded, NFKC again (Unicode's NFKC_Casefold, closely)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def email_key(email: str) -> str:
    return email.casefold()


def check_username(v: Violations, field: str, username: str) -> None:
    """Length after normalisation, no refused characters, no surrounding whitespace.

    Kept in code, not in the proto: these follow Python's Unicode database (categories, NFKC),
    which a regular expression in another engine would not match exactly. The proto's rules
    (1 to 50 characters, a visible one, no control characters) are checked before this.
    """
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in username):
        v.add(field, "must not contain control, format (such as zero-width) or unassigned characters")
    elif username != username.strip():
        v.add(field, "must not start or end with whitespace")
    elif len(normal_username(username)) > 50:
        v.add(field, "must be at most 50 characters once normalised (NFKC)")
