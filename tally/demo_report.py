"""What `tally demo` prints: the story it wrote and where to look."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tally.demo import DemoReport


def print_report(console: Console, report: DemoReport, seconds: float) -> None:
    table = Table(title=f"Demo ledger written in {seconds:.1f} s", show_header=False)
    for label, value in [
        ("members", report.members), ("purchases", report.purchases),
        ("returns", report.returns), ("redemptions", report.redemptions),
        ("check-ins", report.check_ins), ("merges", report.merges),
        ("refused (limits, balance)", report.refused),
        ("lots activated", report.ticks["activated"]),
        ("points expired", report.ticks["expired_points"]),
        ("tier term ends", report.ticks["tiers_changed"]),
    ]:
        table.add_row(label, f"{value:,}")
    console.print(table)
    first = report.samples[0]
    console.print("\n[bold]Where to look[/bold] (start the API with [cyan]tally serve[/cyan]; "
                  "keys from TALLY_API_KEYS, e.g. admin:demo-admin):", soft_wrap=True)
    for member_id in report.samples:
        console.print(f"  member {member_id}")
    console.print(f"""
  curl -s -H 'Authorization: Bearer demo-admin' localhost:8000/v1/members/{first}
  curl -s -H 'Authorization: Bearer demo-admin' localhost:8000/v1/members/{first}/timeline
  curl -s -H 'Authorization: Bearer demo-admin' 'localhost:8000/v1/members?identity_kind=phone&identity_value=%2B8613800000000'
  curl -s -H 'Authorization: Bearer demo-admin' localhost:8000/v1/ledger/summary
  tally replay {first}
""", soft_wrap=True)
