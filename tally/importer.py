"""`tally import FILE`: purchases from CSV or NDJSON, streamed in batches, safe to re-run.

Every row is judged exactly as `POST /v1/transactions` would judge it (same validation, same
idempotency key and body hash), so re-running an import after a crash, or importing rows a
till already posted, counts nothing twice. Refused rows go to `<FILE>.refused.ndjson`.
With `workers` above one, worker processes judge the rows side by side (import_workers.py).
"""

from __future__ import annotations

import csv
from codecs import BOM_UTF8
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.models import PurchaseCreate
from api.problems import field_problems
from api.routers.transactions import order_of
from tally.bulk import collector_paused
from tally.ledger import Ledger


class ImportStopped(Exception):
    """An import could not go on (the database went away, a worker died, a line of the file
    could not be read); the rows posted so far stay posted, and running the import again (on
    the mended file) finishes it."""


def rows(file: Path) -> Iterator[tuple[int, Any, int]]:
    """(line number, contract-shaped purchase or raw text, bytes read so far) per data row.

    A UTF-8 byte order mark (Excel's "CSV UTF-8" starts with one) is skipped: read as text it
    renamed the first column, and every row was refused. CSV text that is not UTF-8 stops the
    import at its line (ImportStopped): decoding it some other way could post a mangled
    transaction id. (An NDJSON line that is not UTF-8 is refused on its own, as bad JSON.)
    """
    with file.open("rb") as raw:
        skip = len(BOM_UTF8) if raw.read(len(BOM_UTF8)) == BOM_UTF8 else 0
        raw.seek(skip)
        first = raw.read(1)
        raw.seek(skip)
        if first == b"{" or file.suffix in (".ndjson", ".jsonl"):
            for number, line in enumerate(raw, start=1):
                if line.strip():
                    yield number, _json(line), raw.tell()
            return
        records = csv.DictReader(_utf8_lines(raw, file.name))
        for record in records:
            yield records.line_num, from_csv(record), raw.tell()


def _utf8_lines(raw: BinaryIO, name: str) -> Iterator[str]:
    for number, line in enumerate(raw, start=1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise ImportStopped(f"line {number} of {name} is not UTF-8 text ({bad.reason} at "
                                f"byte {bad.start + 1} of the line); save the file as UTF-8") from None


def _json(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.decode("utf-8", "replace").strip()


def from_csv(record: dict[str, str]) -> dict[str, Any]:
    """A CSV row (transaction_id, channel, store_id, member_id or identity_kind+identity_value,
    amount, currency, occurred_at, items as JSON) in the contract's purchase shape."""
    row = {key: value for key, value in record.items() if key and value not in (None, "")}
    member: dict[str, Any] = {}
    if "member_id" in row:
        member["member_id"] = row.pop("member_id")
    if "identity_kind" in row or "identity_value" in row:
        member["identity"] = {"kind": row.pop("identity_kind", ""), "value": row.pop("identity_value", "")}
    if "items" in row:
        row["items"] = _json(row["items"].encode())
    return {**row, "member": member}


def run_import(ledger: Ledger, file: Path, console: Console, batch: int = 1000,
               workers: int = 1, url: str | None = None) -> bool:
    """Imports the file; prints created / replayed / refused; True when nothing was refused.
    With `workers` > 1, that many processes post the rows, each on its own connection to
    `url` (the ledger's database)."""
    actor = {"name": f"import:{file.name}", "role": "admin", "request_id": None}
    side = file.with_name(file.name + ".refused.ndjson")
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn())
    # An import makes almost no cyclic garbage (91 objects over 25,000 rows, measured), and the
    # collector would traverse the ledger's cached members again and again: it waits.
    with Progress(*columns, console=console) as progress, collector_paused():
        task = progress.add_task(f"Importing {file.name}", total=file.stat().st_size, rate="–")

        def advance(position: int, done: int) -> None:
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, completed=position, rate=f"{done / elapsed:,.0f}")

        if workers > 1:
            from tally.import_workers import import_in_workers  # it imports this module

            if url is None:
                raise ValueError("importing with workers needs the database's URL")
            counts, reasons = import_in_workers(ledger, url, file, workers, batch, actor, side,
                                                advance)
        else:
            counts, reasons = _import_here(ledger, file, batch, actor, side, advance)
        advance(file.stat().st_size, sum(counts.values()))
    _summary(console, counts, reasons, side)
    if not counts["refused"]:
        side.unlink()
    return not counts["refused"]


def _import_here(ledger: Ledger, file: Path, batch: int, actor: dict[str, Any], side: Path,
                 advance: Callable[[int, int], None]) -> tuple[Counter, Counter]:
    counts, reasons = Counter(), Counter()
    with side.open("wb") as refused:
        for pending, position in batches(file, batch):
            post_rows(ledger, pending, actor, counts, reasons, refused)
            advance(position, sum(counts.values()))
    return counts, reasons


def batches(file: Path, size: int) -> Iterator[tuple[list[tuple[int, Any]], int]]:
    """The file's (line number, row) pairs, `size` at a time, each batch with the bytes read
    by then; the last one may be short, or empty."""
    pending: list[tuple[int, Any]] = []
    position = 0
    for number, row, position in rows(file):
        pending.append((number, row))
        if len(pending) >= size:
            yield pending, position
            pending = []
    yield pending, position


def post_rows(ledger: Ledger, pending: list[tuple[int, Any]], actor: dict[str, Any],
              counts: Counter, reasons: Counter, refused: Any) -> None:
    """Posts (line number, row) pairs; counts them, and writes refused rows to `refused` in
    line order."""
    orders, lines, refusals = [], [], []
    for number, row in pending:
        try:
            orders.append(order_of(PurchaseCreate.model_validate(row), ledger, actor))
            lines.append((number, row))
        except ValidationError as invalid:
            refusals.append((number, row, "validation_error", field_problems(list(invalid.errors()))[0]))
    for (number, row), result in zip(lines, ledger.post_purchases(orders)):
        if result["status"] == 201:
            counts["created"] += 1
        elif result["status"] == 200:
            counts["replayed"] += 1
        else:
            refusals.append((number, row, result["code"], result["detail"]))
    for number, row, code, detail in sorted(refusals, key=lambda refusal: refusal[0]):
        _refuse(refused, counts, reasons, number, row, code, detail)


def _refuse(side: Any, counts: Counter, reasons: Counter, number: int, row: Any,
            code: str, detail: str) -> None:
    counts["refused"] += 1
    reasons[code] += 1
    side.write(orjson.dumps({"line": number, "code": code, "detail": detail, "row": row}) + b"\n")


def _summary(console: Console, counts: Counter, reasons: Counter, side: Path) -> None:
    table = Table(title="Import", show_header=False)
    for label in ("created", "replayed", "refused"):
        table.add_row(label, f"{counts[label]:,}")
    for code, count in reasons.most_common():
        table.add_row(f"  refused: {code}", f"{count:,}")
    console.print(table)
    if counts["refused"]:
        console.print(f"Refused rows with their reasons: {side}")
