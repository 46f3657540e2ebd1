"""The site's reads behind a backfill, with pgbench as the reader: does tidying help?

    python benchmarks/backfill_reader.py [--rows 1000000] [--rounds 3] [--writer 0]

A pgbench client (C, prepared statements, ``-R 300``: 300 primary-key reads a second on a
fixed schedule, its per-read latency logged) reads random rows of the 1,000,000-row table of
``benchmarks/backfill.py`` while the table is filled three ways, each after a rebuild and in
rounds: one set-based ``UPDATE`` (the anchor), ``headroom.backfill`` inline with its
defaults, and the same with ``tidy=True``. ``--writer RATE`` adds a second pgbench client
updating random rows (``note``) at that rate. Each phase's reader p95 is compared with the
p95 of the reads in the 4 s before it (schedule lag taken out: what is left is the read).

Prints per phase and round: seconds, rows/s against the round's UPDATE, and the reader's p95
idle and during; the last line gives the medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from benchmarks import backfill as bench  # noqa: E402  (sets up Django's settings module)

WRITE = "\\set id random(1, {rows})\nUPDATE {table} SET note = note WHERE id = :id;\n"


def phase(key: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    bench.rebuild(args.rows)
    for old in folder.glob("reads*"):
        old.unlink()
    budget = 120
    reader = bench.pgbench(folder / "read.sql", 300, budget, folder / "reads")
    writer = bench.pgbench(folder / "write.sql", args.writer, budget, None) if args.writer else None
    try:
        time.sleep(1.0)
        idle_start = time.time()
        time.sleep(4.0)
        start = time.time()
        if key == "update":
            rows, seconds = bench.single_update()
        else:
            rows, seconds, _ = bench.backfill("inline", tidy=key == "tidy")
        end = time.time()
        time.sleep(0.5)
    finally:
        for client in (reader, writer):
            if client is not None:
                client.terminate()
                client.wait(30)
    idle = bench.p95(bench.pgbench_latencies(folder, "reads", idle_start, start))
    during = bench.p95(bench.pgbench_latencies(folder, "reads", start, end))
    return {"rows": rows, "seconds": seconds, "idle_ms": 1000 * idle, "during_ms": 1000 * during}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writer", type=int, default=0, help="updates a second (0: none)")
    args = parser.parse_args(argv)
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is not installed (Debian: postgresql-client or postgresql)")
    bench.create_database()
    names = {"update": "single UPDATE", "inline": "backfill inline", "tidy": "inline, tidy"}
    found: dict[str, list[dict[str, float]]] = {k: [] for k in names}
    with tempfile.TemporaryDirectory(prefix="headroom-reader-") as tmp:
        folder = Path(tmp)
        table = bench.TABLE
        (folder / "read.sql").write_text(bench.READ_SCRIPT.format(rows=args.rows, table=table))
        (folder / "write.sql").write_text(WRITE.format(rows=args.rows, table=table))
        print(f"{args.rows:,} rows; reader 300 reads/s; writer {args.writer or 'none'}")
        for n in range(args.rounds):
            anchor = 0.0
            for key, name in names.items():
                r = phase(key, args, folder)
                r["rate"] = r["rows"] / r["seconds"]
                anchor = anchor or r["rate"]
                r["ratio"] = r["rate"] / anchor
                r["read"] = r["during_ms"] / r["idle_ms"]
                found[key].append(r)
                print(
                    f"  round {n + 1}: {name:<16} {r['seconds']:6.2f} s {r['ratio']:5.2f}x UPDATE;"
                    f" reader p95 {r['idle_ms']:.3f} -> {r['during_ms']:.3f} ms = {r['read']:.2f}x",
                    flush=True,
                )
    summary = ", ".join(
        f"{names[k]} {statistics.median(r['ratio'] for r in rs):.2f}x rows/s, reader p95 "
        f"{statistics.median(r['read'] for r in rs):.2f}x idle"
        for k, rs in found.items()
    )
    print(f"medians over {args.rounds} round(s): {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
