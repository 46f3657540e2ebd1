"""What a running backfill shows: a rich progress bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from headroom.backfill.models import BackfillRun


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def shown_total(run: BackfillRun) -> int | None:
    """The run's total as shown: never under the rows done (the planner's estimate, used
    until the exact count is in, can be far under them)."""
    return None if run.rows_total is None else max(run.rows_total, run.rows_done)


def rate(run: BackfillRun) -> str:
    """Rows per second as shown: whole numbers, but a slow run (a tight rate cap) is not
    shown as 0."""
    value = run.rows_per_second
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def summary(run: BackfillRun) -> str:
    """One line: rows, percent, rows/s, ETA, batch size, state."""
    total = f"/{shown_total(run):,}" if run.rows_total is not None else ""
    parts = [
        f"{run.rows_done:,}{total} rows",
        f"{run.percent:.1f}%",
        f"{rate(run)} rows/s",
        f"ETA {duration(run.eta_seconds)}",
        f"batch {run.batch_size:,}",
        f"{run.batches_done:,} batches",
    ]
    if run.failures:
        parts.append(f"{run.failures} failed range(s)")
    line = "  ".join(parts) + f"  [{run.state}]"
    if run.throttle_reason and run.state == "throttled":
        line += f" {run.throttle_reason}"
    return line


class LineReporter:
    """Plain lines, at most one progress line every ``every`` seconds (logs, CI, pipes)."""

    def __init__(self, out: TextIO | None = None, every: float = 2.0) -> None:
        self.out = out or sys.stdout
        self.every = every
        self._last = 0.0

    def update(self, run: BackfillRun) -> None:
        if not run.is_active:
            return  # the command prints how the run ended, once
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        print(f"{run.name} #{run.pk}: {summary(run)}", file=self.out, flush=True)

    def event(self, text: str) -> None:
        print(f"headroom backfill: {text}", file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichReporter:
    """A rich progress bar: percent, rows, rows/s, ETA, batch size and state."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.console = Console()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn("{task.fields[state]}"),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task(title, total=100.0, rows="", rate="", eta="?", state="")
        self.progress.start()

    def update(self, run: BackfillRun) -> None:
        fields: dict[str, Any] = {
            "rows": f"{run.rows_done:,} rows",
            "rate": f"{rate(run)} rows/s",
            "eta": duration(run.eta_seconds),
            "state": run.state
            + (
                f": {run.throttle_reason}"
                if run.state == "throttled" and run.throttle_reason
                else ""
            ),
        }
        self.progress.update(self.task, completed=run.percent, **fields)

    def event(self, text: str) -> None:
        self.progress.console.print(f"[dim]headroom backfill:[/dim] {text}")

    def close(self) -> None:
        self.progress.stop()


def reporter_for(title: str, *, quiet: bool = False, out: TextIO | None = None) -> Any:
    """A rich bar when stdout is a terminal and rich is installed, else plain lines."""
    if quiet:
        from headroom.backfill.runner import SilentReporter

        return SilentReporter()
    stream = out or sys.stdout
    if stream.isatty():
        try:
            return RichReporter(title)
        except ImportError:
            pass
    return LineReporter(stream)
