"""The index inventory on the generated workload's tables (PostgreSQL)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from headroom.indexes import inventory, workload

pytestmark = [pytest.mark.services, pytest.mark.django_db(databases=["default", "postgres"])]


@pytest.fixture(scope="module")
def stock(spool_dir: Path, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock():
        recorded = workload.from_records(workload.read_spool(spool_dir))
        return inventory("postgres", workload=recorded, allow_build=True)


def problems(stock: Any, kind: str) -> dict[str, Any]:
    return {p.index: p for p in stock.problems if p.kind == kind and p.table == "ticketapp_ticket"}


def test_the_unused_index_is_mapped_to_its_field(stock: Any) -> None:
    unused = problems(stock, "unused")
    plain = [p for name, p in unused.items() if not name.endswith("_like")]
    (reference,) = plain
    assert reference.field == "reference" and reference.model == "ticketapp.Ticket"
    assert reference.declared_by == "ticketapp.Ticket.reference (CharField, db_index)"
    assert "Ticket.reference = models.CharField(..., db_index=False)" in reference.fix
    assert reference.reason.startswith("0 scans since ")
    # Django's LIKE index beside it is unused too, and mapped to the same field.
    assert any(p.field == "reference" for name, p in unused.items() if name.endswith("_like"))


def test_the_redundant_foreign_key_index_is_a_duplicate_of_the_meta_index(stock: Any) -> None:
    (queue,) = problems(stock, "duplicate").values()
    assert queue.field == "queue"
    assert "lead ticket_queue_created_idx (queue_id, created_at)" in queue.reason
    assert "Ticket.queue = models.ForeignKey(..., db_index=False)" in queue.fix
    # Planned without it, the recorded statements cost the same (dropped and rolled back).
    assert queue.proof is not None and "rolled-back transaction" in queue.proof
    before, after = queue.proof.split("total cost ")[1].split(" -> ")
    assert float(after.split(";")[0].replace(",", "")) <= float(before.replace(",", "")) * 1.01


def test_indexes_in_use_or_backing_constraints_are_kept(stock: Any) -> None:
    flagged = {p.index for p in stock.problems}
    assert "ticket_queue_created_idx" not in flagged  # scanned by the workload
    assert "ticketapp_ticket_pkey" not in flagged
    assert stock.counted_on == ["postgres"]


def test_an_invalid_index_is_reported(tickets: str) -> None:
    import psycopg
    from django.db import connections

    params = connections[tickets].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        # Fails on the duplicate values and leaves an invalid index behind.
        with contextlib.suppress(psycopg.Error):
            other.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY ticket_status_broken ON ticketapp_ticket (status)"
            )
        try:
            found = {p.index: p for p in inventory(tickets).problems}
        finally:
            other.execute("DROP INDEX IF EXISTS ticket_status_broken")
    broken = found["ticket_status_broken"]
    assert broken.kind == "invalid"
    assert "DROP INDEX CONCURRENTLY IF EXISTS" in broken.fix
    assert broken.declared_by.startswith("no declaration in ticketapp.Ticket")
