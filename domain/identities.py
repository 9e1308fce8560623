"""Identity kinds and how their values are normalised before comparison (contract §2)."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

KINDS = ("phone", "email", "card", "wechat_openid", "wechat_unionid", "external")
_PHONE_NOISE = re.compile(r"[\s\-.()]")


def normalise(kind: str, value: str) -> str:
    """The stored form of an identity value; refuses unknown kinds and empty values."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
    value = value.strip()
    if kind == "phone":
        value = _PHONE_NOISE.sub("", value)
        if not re.fullmatch(r"\+?[0-9]{3,20}", value):
            raise InvalidInput("value", "a phone number has digits, optionally after a leading +")
    elif kind == "email":
        value = value.lower()
        if "@" not in value:
            raise InvalidInput("value", "an email address needs an @")
    if not value:
        raise InvalidInput("value", "must not be empty")
    return value
