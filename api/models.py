"""Request and response bodies. Inputs are strict: money is a decimal string, times carry an
offset, unknown fields are refused, identities are normalised."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      WithJsonSchema, model_validator)

from domain.earning import Item
from domain.errors import InvalidInput
from domain.identities import KINDS, normalise

_MONEY = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")
# "…T10:00:00 08:00": a `+` offset sent unencoded in a query string arrives as a space
_UNENCODED_PLUS = re.compile(r"(T[0-9:.]+) ([0-9]{2}:[0-9]{2})$")


def _money(value: Any) -> Decimal:
    if not isinstance(value, str) or not _MONEY.match(value):
        raise ValueError('money is a JSON string like "120.50" with at most two decimals')
    amount = Decimal(value).quantize(Decimal("0.01"))
    if amount <= 0:
        raise ValueError("must be above zero")
    return amount


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        raise ValueError("a time is an RFC 3339 string with an offset")
    try:
        moment = datetime.fromisoformat(_UNENCODED_PLUS.sub(r"\1+\2", value))
    except ValueError:
        raise ValueError("a time is an RFC 3339 string with an offset") from None
    if moment.tzinfo is None:
        raise ValueError("a time needs an offset, e.g. 2026-11-22T10:00:00+08:00")
    return moment.astimezone(timezone.utc)


Money = Annotated[Decimal, BeforeValidator(_money),
                  WithJsonSchema({"type": "string", "pattern": _MONEY.pattern, "example": "120.50"})]
Instant = Annotated[datetime, BeforeValidator(_instant),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "example": "2026-11-22T10:00:00+08:00"})]
ClientId = Annotated[str, Field(min_length=1, max_length=128)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
IdentityKind = Annotated[str, Field(json_schema_extra={"enum": list(KINDS)})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def request(self) -> dict[str, Any]:
        """The body's JSON values as sent (for idempotency hashes)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Identity(Strict):
    kind: IdentityKind
    value: Annotated[str, Field(min_length=1, max_length=256)]

    @model_validator(mode="after")
    def _normalised(self) -> Identity:
        try:
            self.value = normalise(self.kind, self.value)
        except InvalidInput as refusal:
            raise ValueError(refusal.errors[0]["message"]) from None
        return self

    def pair(self) -> tuple[str, str]:
        return self.kind, self.value


class MemberCreate(Strict):
    member_id: UUID | None = None
    identities: list[Identity] = []
    referrer_code: str | None = None
    occurred_at: Instant | None = None


class MemberRef(Strict):
    member_id: UUID | None = None
    identity: Identity | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MemberRef:
        if (self.member_id is None) == (self.identity is None):
            raise ValueError("give either member_id or identity")
        return self


class LineItem(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    category: str | None = None
    amount: Money
    quantity: Annotated[int, Field(ge=1)] = 1

    def item(self) -> Item:
        return Item(self.sku, self.category, self.amount, self.quantity)


def _items_sum_to(amount: Decimal, items: list[LineItem] | None) -> None:
    if items and sum(item.amount for item in items) != amount:
        raise ValueError("the items' amounts must add up to amount")


class PurchaseCreate(Strict):
    transaction_id: ClientId
    channel: Annotated[str, Field(min_length=1, max_length=32)]
    store_id: str | None = None
    member: MemberRef
    amount: Money
    currency: Currency
    occurred_at: Instant | None = None
    items: list[LineItem] | None = None

    @model_validator(mode="after")
    def _items_match(self) -> PurchaseCreate:
        _items_sum_to(self.amount, self.items)
        return self


class ReturnCreate(Strict):
    return_id: ClientId
    amount: Money
    occurred_at: Instant | None = None
    items: list[LineItem] | None = None

    @model_validator(mode="after")
    def _items_match(self) -> ReturnCreate:
        _items_sum_to(self.amount, self.items)
        return self


class RedemptionCreate(Strict):
    redemption_id: ClientId
    points: Annotated[int, Field(gt=0, strict=True)]
    reward: str | None = None
    occurred_at: Instant | None = None


def _not_zero(points: int) -> int:
    if points == 0:
        raise ValueError("must not be zero")
    return points


class AdjustmentCreate(Strict):
    adjustment_id: ClientId
    points: Annotated[int, Field(strict=True), AfterValidator(_not_zero)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    ticket: str | None = None
    occurred_at: Instant | None = None


class ActivityCreate(Strict):
    activity_id: ClientId
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: Instant | None = None


class MergeCreate(Strict):
    merge_id: ClientId
    absorbed_member_id: UUID
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    occurred_at: Instant | None = None


class TickCreate(Strict):
    as_of: Instant
