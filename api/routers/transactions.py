"""Purchases from tills and shops (one, or a batch for imports) and returns against them."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Body, Request
from pydantic import ValidationError

from api.bodies import documented_body, json_body
from api.deps import WRITING, LedgerDep, Writer, actor_of, ledger_of
from api.documents import BatchPublic, PurchasePublic, ReturnPublic, replay_of
from api.models import PurchaseCreate, ReturnCreate
from api.problems import documented, field_problems
from api.responses import Json, created_or_replayed
from domain.errors import InvalidInput
from tally.batch import CHUNK_BESIDE_TILLS
from tally.guarding import digest

router = APIRouter(prefix="/v1/transactions", tags=["transactions"])
BATCH_LIMIT = 10_000


def order_of(body: PurchaseCreate, ledger: Any, actor: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `Ledger.post_purchase` for a validated purchase."""
    member = body.member
    return dict(transaction_id=body.transaction_id, channel=body.channel, store_id=body.store_id,
                member_id=str(member.member_id) if member.member_id else None,
                identity=member.identity.pair() if member.identity else None,
                amount=body.amount, currency=body.currency,
                items=[item.item() for item in body.items or []],
                occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                request_hash=digest(body.request()))


@router.post("", status_code=201, response_model=PurchasePublic,
             responses={**documented("member_not_found", "identity_not_found",
                                     "idempotency_conflict", "member_merged", "busy"),
                        **replay_of(PurchasePublic)},
             openapi_extra=documented_body(PurchaseCreate))
async def post_purchase(request: Request) -> Json:
    """Records a purchase once per (channel, transaction_id) and answers the points earned."""
    # Tills' hottest path: no dependencies and no body parameter, ~45 us less of the server's
    # GIL per purchase than `actor: Writer, body: PurchaseCreate` (api/bodies.py)
    ledger = ledger_of(request)  # 503 while starting, then 401/403, then 422
    actor = actor_of(request, WRITING)
    body = await json_body(request, PurchaseCreate)
    outcome = await ledger.post_purchase_soon(**order_of(body, ledger, actor))
    return created_or_replayed(outcome.body, outcome.replayed)


@router.post("/batch", response_model=BatchPublic, responses=documented())
async def post_batch(request: Request, ledger: LedgerDep, actor: Writer, body: Any = Body(
        ..., description='{"transactions": [up to 10,000 purchases, each as POST /v1/transactions]}')) -> Json:
    """Up to 10,000 purchases; each judged on its own, answered in input order."""
    if not isinstance(body, dict) or not isinstance(body.get("transactions"), list) \
            or set(body) != {"transactions"}:
        raise InvalidInput("transactions", 'the body is {"transactions": [...]}')
    if len(body["transactions"]) > BATCH_LIMIT:
        raise InvalidInput("transactions", f"at most {BATCH_LIMIT} purchases per batch")
    workers = request.app.state.runtime.extras.get("batch_workers")
    if workers is not None:  # in a worker process: the server's GIL stays with the tills
        results = await workers.post(body["transactions"], actor)
    else:
        results = await anyio.to_thread.run_sync(batch_results, ledger, body["transactions"], actor)
    return Json({"results": results}, status_code=200)


def batch_results(ledger: Any, items: list[Any], actor: dict[str, Any]) -> list[dict[str, Any]]:
    """Each item's answer, in input order: its validation error, or what posting it gave."""
    results: list[dict[str, Any] | None] = []
    orders, positions = [], []
    for item in items:
        try:
            purchase = PurchaseCreate.model_validate(item)
        except ValidationError as refusal:
            results.append(_refused_item(item, refusal))
            continue
        positions.append(len(results))
        results.append(None)
        orders.append(order_of(purchase, ledger, actor))
    answers = ledger.post_purchases(orders, chunk=CHUNK_BESIDE_TILLS)
    for position, order, result in zip(positions, orders, answers):
        results[position] = {"transaction_id": order["transaction_id"], "channel": order["channel"],
                             **result}
    return results


def _refused_item(item: Any, refusal: ValidationError) -> dict[str, Any]:
    detail, errors = field_problems(list(refusal.errors()))
    item = item if isinstance(item, dict) else {}
    return {"transaction_id": item.get("transaction_id"), "channel": item.get("channel"),
            "status": 422, "code": "validation_error", "detail": detail, "errors": errors}


@router.post("/{channel}/{transaction_id}/returns", status_code=201, response_model=ReturnPublic,
             responses={**documented("transaction_not_found", "idempotency_conflict",
                                     "return_exceeds_purchase", "busy"),
                        **replay_of(ReturnPublic)})
def return_purchase(channel: str, transaction_id: str, body: ReturnCreate, ledger: LedgerDep,
                    actor: Writer) -> Json:
    """A full or partial return: claws back points in proportion to the amount returned."""
    outcome = ledger.return_purchase(channel=channel, transaction_id=transaction_id,
                                     return_id=body.return_id, amount=body.amount,
                                     occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                                     request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)
