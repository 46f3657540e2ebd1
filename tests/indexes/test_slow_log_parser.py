"""The slow-query log parser on lines captured from this project's PostgreSQL 15 server.

``data/postgresql-15-main.log`` is a verbatim excerpt of ``/var/log/postgresql/
postgresql-15-main.log`` (Debian's stderr log, prefix ``%m [%p] %q%u@%d``), written by a
session with ``log_min_duration_statement = 0`` that ran: a lookup with values bound on the
client (Django's default with psycopg 3) three times, a multi-line statement twice, a
statement bound on the server (``parse`` / ``bind`` / ``execute <unnamed>`` lines with their
``parameters:`` detail) twice, the same with a NULL value, and an UPDATE; then the
checkpointer's lines.
"""

from __future__ import annotations

from pathlib import Path

from headroom.indexes.workload import from_slow_log

LOG = Path(__file__).parent / "data" / "postgresql-15-main.log"


def test_values_written_into_statements_become_parameter_samples() -> None:
    work = from_slow_log(LOG, "postgres")
    (number,) = [q for q in work.queries if "number = $1" in q.sql]
    assert number.alias == "postgres" and number.sources == {"slow_log"}
    assert number.calls == 3
    assert number.samples == [[17], [4242], [99001]]
    assert round(number.total_ms, 3) == round(0.341 + 0.100 + 0.084, 3)
    assert number.max_ms == 0.341


def test_a_multi_line_statement_is_one_statement() -> None:
    work = from_slow_log(LOG, "postgres")
    (recent,) = [q for q in work.queries if "created_at >= $2" in q.sql]
    assert recent.calls == 2
    assert recent.samples == [
        ["open", "2024-05-25T00:00:00+00:00"],
        ["new", "2024-05-20T00:00:00+00:00"],
    ]


def test_a_prepared_statement_takes_its_values_from_the_detail_line() -> None:
    work = from_slow_log(LOG, "postgres")
    (owned,) = [q for q in work.queries if "owner_code" in q.sql]
    # Counted once per execute line; the parse and bind lines are not executions.
    assert owned.calls == 2
    assert owned.samples == [["owner7"], ["owner12"]]
    # A NULL plans differently from every real value: the statement is kept, not the sample.
    (null,) = [q for q in work.queries if '"deleted_at" = $1' in q.sql]
    assert null.calls == 1 and null.samples == []


def test_writes_are_counted_and_other_statements_left_out() -> None:
    work = from_slow_log(LOG, "postgres")
    assert work.writes == {("postgres", "ticketapp_ticket"): 1}
    assert not [q for q in work.queries if q.sql.upper().startswith("SET")]
    assert len(work.queries) == 5
