"""``headroom backfill``: list, run, watch and steer backfills.

Exit codes: 0 done (``run``: the backfill succeeded; ``--retry-failed``: also when there was
nothing to retry), 1 the run failed or was cancelled, or there was no run to
pause/resume/cancel, 2 bad usage (an option out of range, invalid ``BACKFILL_*`` settings),
3 could not run (another process holds the run, the run was taken over, a database error).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from headroom.cli import EXIT_FAILED, EXIT_FOUND, EXIT_OK, EXIT_USAGE, UsageError, Verb, verb

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill
    from headroom.backfill.models import BackfillRun
    from headroom.backfill.options import RunOptions

ACTIONS = ("run", "status", "pause", "resume", "cancel", "watchdog", "list")


def _parse_params(items: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param takes NAME=VALUE, got {item!r}")
        if key.strip() in params:
            raise UsageError(f"--param {key.strip()} is given twice")
        params[key.strip()] = value
    return params


def _backfill_class(name: str) -> type[Backfill]:
    from headroom.backfill.registry import UnknownBackfill, get_backfill

    try:
        return get_backfill(name)
    except UnknownBackfill as exc:
        raise UsageError(str(exc)) from exc


def _check_database(args: argparse.Namespace) -> None:
    """Refuse a ``--database`` that is not an alias of ``DATABASES``."""
    from django.conf import settings

    alias = getattr(args, "database", None)
    if alias and alias not in settings.DATABASES:
        known = ", ".join(sorted(settings.DATABASES)) or "none"
        raise UsageError(f"--database {alias!r}: no such alias in DATABASES (it has: {known})")


def _alias(cls: type[Backfill], database: str | None) -> str:
    from headroom.backfill.registry import default_database

    return database or default_database(cls)


def _seconds(text: str) -> float:
    """A time limit in seconds from the command line: 0 or more (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds (0: no limit), got {text}")
    return value


def _statement_timeout(text: str) -> float | str:
    """``--statement-timeout``: seconds as :func:`_seconds`, or "auto"."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or auto, got {text!r}") from None
    return _seconds(text)


def _positive_int(text: str) -> int:
    """A count from the command line: 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _positive_number(text: str) -> float:
    """A duration or a rate from the command line: more than 0. Zero would mean nothing
    sensible: a 0 s target gives 1-row batches, and a 0 rows/s cap is taken as no cap."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _refused(args: argparse.Namespace, action: str, problem: object, code: int) -> int:
    """Say why ``action`` was not done, and return ``code``: on stderr, or with ``--json`` as
    JSON on stdout, so that a script reading the output gets JSON whatever happened."""
    if args.json:
        _print_json(
            {"action": action, "backfill": getattr(args, "backfill", None), "error": str(problem)}
        )
    else:
        print(f"headroom backfill {action}: {problem}", file=sys.stderr)
    return code


@verb
class BackfillVerb(Verb):
    name = "backfill"
    help = "Change many rows in small, throttled, resumable batches."
    description = (
        "Backfills are Backfill classes in your apps' backfills.py (docs/backfill.md).\n\n"
        "  headroom backfill list (or --list)            what is registered, and its last run\n"
        "  headroom backfill run APP.NAME [--dry-run]    run (or resume) it to the end\n"
        "  headroom backfill status [APP.NAME] [--json]  progress, rows/s, ETA, state\n"
        "  headroom backfill pause|resume|cancel APP.NAME\n"
        "  headroom backfill watchdog [--json]            hand Celery runs whose coordinator "
        "is gone to a new one\n\n"
        "Exit codes: 0 done, 1 the run failed or was cancelled (or nothing to pause/resume/"
        "cancel), 2 bad usage, 3 could not run (another process holds the run)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from headroom.conf import HeadroomSettings as Defaults

        parser.add_argument("--list", action="store_true", help="list the registered backfills")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--database", help="database alias holding the runs (default: the backfill's)"
        )
        sub = parser.add_subparsers(dest="action", metavar="<action>")

        def action(name: str, help_text: str, named: bool = True) -> argparse.ArgumentParser:
            p = sub.add_parser(name, help=help_text, description=help_text)
            if named:
                p.add_argument(
                    "backfill", metavar="APP.NAME", help="the backfill, e.g. shop.FillOrderTotals"
                )
            p.add_argument(
                "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
            )
            p.add_argument(
                "--database", default=argparse.SUPPRESS, help="database alias holding the runs"
            )
            p.add_argument("--settings", default=argparse.SUPPRESS, help="Django settings module")
            return p

        run = action("run", "Run a backfill, or resume its unfinished run, until it is done.")
        run.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a parameter of the backfill (repeatable)",
        )
        run.add_argument(
            "--executor",
            choices=("inline", "celery"),
            help="where batches run: in this process, or on Celery workers (default "
            f'HEADROOM["BACKFILL_EXECUTOR"], {Defaults.BACKFILL_EXECUTOR})',
        )
        run.add_argument(
            "--dry-run",
            action="store_true",
            help="run the first batches in a transaction that is rolled back",
        )
        run.add_argument(
            "--target-seconds",
            type=_positive_number,
            dest="target_batch_seconds",
            metavar="SECONDS",
            help="target time of one batch, in seconds (default: the backfill's, else "
            'HEADROOM["BACKFILL_TARGET_BATCH_SECONDS"], '
            f"{Defaults.BACKFILL_TARGET_BATCH_SECONDS:g})",
        )
        run.add_argument(
            "--batch-size",
            type=_positive_int,
            metavar="N",
            help="rows (or keys) in the first batch, before the size adapts (default: the "
            "backfill's, else "
            f'HEADROOM["BACKFILL_BATCH_SIZE"], {Defaults.BACKFILL_BATCH_SIZE:,})',
        )
        run.add_argument(
            "--min-batch-size",
            type=_positive_int,
            metavar="N",
            help="smallest batch in rows or keys (default: the backfill's, else "
            f'HEADROOM["BACKFILL_MIN_BATCH_SIZE"], {Defaults.BACKFILL_MIN_BATCH_SIZE:,})',
        )
        run.add_argument(
            "--max-batch-size",
            type=_positive_int,
            metavar="N",
            help="largest batch in rows or keys (default: the backfill's, else "
            f'HEADROOM["BACKFILL_MAX_BATCH_SIZE"], {Defaults.BACKFILL_MAX_BATCH_SIZE:,})',
        )
        run.add_argument(
            "--max-rows-per-second",
            type=_positive_number,
            metavar="ROWS",
            help="cap on rows per second for the whole run, all workers together (default "
            'HEADROOM["BACKFILL_MAX_ROWS_PER_SECOND"], no cap)',
        )
        run.add_argument(
            "--max-in-flight",
            type=_positive_int,
            metavar="N",
            help="Celery: batch tasks queued or running at once for the whole run (default "
            f'HEADROOM["BACKFILL_MAX_IN_FLIGHT"], {Defaults.BACKFILL_MAX_IN_FLIGHT})',
        )
        run.add_argument(
            "--concurrent-batches",
            type=_positive_int,
            metavar="N",
            help="Celery, PostgreSQL: batches of the run that write at once (default "
            f'HEADROOM["BACKFILL_CONCURRENT_BATCHES"], {Defaults.BACKFILL_CONCURRENT_BATCHES})',
        )
        run.add_argument(
            "--lock-timeout",
            type=_seconds,
            metavar="SECONDS",
            help="PostgreSQL lock_timeout of each batch, also on Celery workers (0: no limit; "
            f'default HEADROOM["BACKFILL_LOCK_TIMEOUT"], {Defaults.BACKFILL_LOCK_TIMEOUT:g})',
        )
        run.add_argument(
            "--statement-timeout",
            type=_statement_timeout,
            metavar="SECONDS|auto",
            help="PostgreSQL statement_timeout of each batch, also on Celery workers (0: no "
            "limit; auto: twice the target batch time; default "
            f'HEADROOM["BACKFILL_STATEMENT_TIMEOUT"], {Defaults.BACKFILL_STATEMENT_TIMEOUT})',
        )
        run.add_argument(
            "--tidy",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="PostgreSQL: after each batch, read its pages once so its old row versions "
            "are pruned by the backfill, not by the site's next reads (default "
            'HEADROOM["BACKFILL_TIDY"], on; --no-tidy: off)',
        )
        run.add_argument(
            "--batches",
            type=_positive_int,
            dest="max_batches",
            metavar="N",
            help="inline executor: stop after this many batches, leaving the run paused (go "
            "on with a later run)",
        )
        run.add_argument(
            "--take-over",
            action="store_true",
            help="take the run from a runner that still looks alive",
        )
        run.add_argument(
            "--retry-failed",
            action="store_true",
            help="run the key ranges in the last failed run's failure ledger again (and, on "
            "Celery, the batches it stopped), then go on where it stopped",
        )
        run.add_argument(
            "--detach",
            action="store_true",
            help="Celery: enqueue the run's coordinator as a task and return at once",
        )
        run.add_argument(
            "--quiet",
            action="store_true",
            help="no progress output; the outcome only when the run did not succeed",
        )
        status = action(
            "status", "Show the latest run of one backfill, or of every backfill.", named=False
        )
        status.add_argument(
            "backfill",
            metavar="APP.NAME",
            nargs="?",
            help="the backfill, e.g. shop.FillOrderTotals (default: the latest run of each)",
        )
        action("pause", "Pause the unfinished run after its current batch.")
        action("resume", "Let a paused run go on.")
        action("cancel", "Cancel the unfinished run after its current batch.")
        action(
            "watchdog",
            "Hand every unfinished Celery run whose coordinator is gone (its lease lost) to a "
            "new coordinator task. Run it from celery beat as the task "
            "headroom.backfill.watchdog, or from cron.",
            named=False,
        )
        action("list", "List the registered backfills (same as --list).", named=False)

    def run(self, args: argparse.Namespace) -> int:
        action = args.action or ("list" if args.list else None)
        if action is None:
            # From ACTIONS, so that a new action is never left out of the list.
            named = ["list (or --list)", *(a for a in ACTIONS if a != "list")]
            raise UsageError(
                f"say what to do: {', '.join(named[:-1])} or {named[-1]} (headroom backfill --help)"
            )
        try:
            _check_database(args)
            if action == "list":
                return self._list(args)
            if action == "status":
                return self._status(args)
            if action == "run":
                return self._run(args)
            if action == "watchdog":
                return self._watchdog(args)
            return self._control(action, args)
        except UsageError as exc:
            if args.json:  # JSON on stdout as well, for a script that reads it
                _refused(args, action, exc, EXIT_USAGE)
            raise

    # --- list and status -----------------------------------------------------------------

    def _list(self, args: argparse.Namespace) -> int:
        from headroom.backfill import control
        from headroom.backfill.registry import all_backfills

        rows: list[dict[str, Any]] = []
        for name, cls in all_backfills().items():
            last: BackfillRun | None = None
            try:
                last = control.latest(name, _alias(cls, args.database))
            except Exception:  # the headroom tables may not be migrated yet
                last = None
            rows.append(
                {
                    "name": name,
                    "description": cls.description(),
                    "kind": "csv" if _is_csv(cls) else _kind(cls),
                    "params": [p.describe() for p in cls.params().values()],
                    "last_run": None
                    if last is None
                    else {
                        "id": last.pk,
                        "state": last.state,
                        "percent": last.percent,
                        "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                    },
                }
            )
        if args.json:
            _print_json(rows)
            return EXIT_OK
        if not rows:
            print("No backfills registered. Add a Backfill subclass to an app's backfills.py.")
            return EXIT_OK
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            last_run = r["last_run"]
            tail = (
                "never run"
                if last_run is None
                else f"last run #{last_run['id']} {last_run['state']} ({last_run['percent']:.0f}%)"
            )
            print(f"{r['name']:<{width}}  {r['kind']:<7}  {tail}")
            if r["description"]:
                print(f"{'':<{width}}    {r['description']}")
            for p in r["params"]:
                print(f"{'':<{width}}    --param {p}")
        return EXIT_OK

    def _status(self, args: argparse.Namespace) -> int:
        from headroom.backfill import control
        from headroom.backfill.models import BackfillRun
        from headroom.backfill.progress import summary
        from headroom.backfill.watchdog import recovery

        runs: list[BackfillRun] = []
        if args.backfill:
            cls = _backfill_class(args.backfill)
            last = control.latest(cls.name, _alias(cls, args.database))
            if last is None:
                if args.json:
                    _print_json([])
                else:
                    print(f"{cls.name} has never run.")
                return EXIT_OK
            runs = [last]
        else:
            seen: set[str] = set()
            for run in BackfillRun.objects.using(args.database or "default").order_by("-id")[:500]:
                if run.name not in seen:
                    seen.add(run.name)
                    runs.append(run)
        using_of = {id(run): run._state.db or "default" for run in runs}
        lost = {id(run): control.lease_lost(run) for run in runs}
        if args.json:
            _print_json(
                [
                    {
                        **run.as_dict(),
                        "lease_lost": lost[id(run)],
                        "recover_with": recovery(run, using_of[id(run)]) if lost[id(run)] else None,
                    }
                    for run in runs
                ]
            )
            return EXIT_OK
        if not runs:
            print("No backfill has run yet.")
        for run in runs:
            owner = f"  runner {run.owner}" if run.owner and run.is_active else ""
            print(f"{run.name} #{run.pk}: {summary(run)}{owner}")
            if lost[id(run)]:
                print(
                    f"    lease lost: {control.lost_reason(run)}. Nobody works on this run; "
                    f"recover it with: {recovery(run, using_of[id(run)])}"
                )
            if run.message:
                print(f"    {run.message}")
        return EXIT_OK

    def _watchdog(self, args: argparse.Namespace) -> int:
        from headroom.backfill.watchdog import HANDED_OVER, sweep

        result = sweep([args.database] if args.database else None, log=False)
        if args.json:
            _print_json(result.as_dict())
            return EXIT_OK if result.ok else EXIT_FAILED
        for finding in result.findings:
            print(finding.describe())
        handed = sum(1 for f in result.findings if f.action == HANDED_OVER)
        where = ", ".join(repr(d) for d in result.databases)
        print(
            f"headroom backfill watchdog: {handed} run(s) handed to a new coordinator; "
            f"{result.live} other unfinished run(s) have a live runner or are waiting for one "
            f"(database(s) {where})."
        )
        return EXIT_OK if result.ok else EXIT_FAILED

    # --- steering ------------------------------------------------------------------------

    def _control(self, action: str, args: argparse.Namespace) -> int:
        from headroom.backfill import control

        cls = _backfill_class(args.backfill)
        using = _alias(cls, args.database)
        try:
            run = getattr(control, action)(cls.name, using)
        except control.RunError as exc:
            return _refused(args, action, exc, EXIT_FOUND)
        if args.json:
            _print_json(run.as_dict())
            return EXIT_OK
        # The resume hint carries the run's parameters: without a required one the
        # backfill refuses to start.
        messages = {
            "pause": f"run #{run.pk} of {run.name} is {run.state}: "
            + (
                "it stops after its current batch."
                if control.holder_alive(run)
                else "nobody runs it now; it stays so until resumed."
            ),
            "resume": f"run #{run.pk} of {run.name} is {run.state}."
            + (
                ""
                if run.state == "running"
                else " Nobody runs it now; go on with: "
                + control.command("run", run.name, run.params)
            ),
            "cancel": f"run #{run.pk} of {run.name} is {run.state}.",
        }
        print(messages[action])
        return EXIT_OK

    # --- run -----------------------------------------------------------------------------

    def _run(self, args: argparse.Namespace) -> int:
        from django.core.exceptions import ImproperlyConfigured

        try:
            return self._run_backfill(args)
        except ImproperlyConfigured as exc:  # the Backfill class itself is wrong
            return _refused(args, "run", exc, EXIT_USAGE)

    def _run_backfill(self, args: argparse.Namespace) -> int:
        from headroom.backfill import control
        from headroom.backfill.options import RunOptions
        from headroom.backfill.progress import duration, reporter_for, summary
        from headroom.backfill.runner import LostRun, run_backfill

        _refuse_invalid_settings()
        cls = _backfill_class(args.backfill)
        params = _parse_params(args.param)
        for key, param in cls.params().items():
            if param.required and key not in params:
                # Worded for the command line here: the class's own message is for Python too.
                raise UsageError(f"{cls.name} needs the parameter {key!r}: --param {key}=...")
        try:
            backfill = cls(**params)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if args.database:
            backfill.database = args.database
        overrides = {
            key: getattr(args, key)
            for key in (
                "executor",
                "target_batch_seconds",
                "batch_size",
                "min_batch_size",
                "max_batch_size",
                "max_rows_per_second",
                "max_in_flight",
                "concurrent_batches",
                "lock_timeout",
                "statement_timeout",
                "tidy",
                "max_batches",
            )
        }
        overrides["take_over"] = args.take_over or None
        options = RunOptions.build(backfill, **overrides)
        _check_batch_sizes(options, backfill, args)
        if args.max_batches is not None and options.executor != "inline":
            # The Celery coordinator plans batches ahead, sent as they go: it has no
            # "after N, stop" point that leaves nothing in flight.
            raise UsageError("--batches works with the inline executor only")
        if args.retry_failed and (args.dry_run or args.detach):
            # Neither walks the failure ledger: each would do a normal run instead.
            other = "--dry-run" if args.dry_run else "--detach"
            raise UsageError(f"--retry-failed cannot be combined with {other}")
        if args.dry_run:
            from headroom.backfill.dryrun import dry_run

            try:
                report = dry_run(backfill, options)
            except Exception as exc:  # the backfill's own code failed on a batch
                return _refused(
                    args, "run", f"dry run: a batch failed: {type(exc).__name__}: {exc}", EXIT_FOUND
                )
            if args.json:
                _print_json(report.as_dict())
            else:
                _print_dry_run(report, duration)
            return EXIT_OK
        if args.detach:
            return self._detach(backfill, overrides, args)
        if args.retry_failed:
            from headroom.backfill.runner import retry_failed

            reporter = reporter_for(cls.name, quiet=args.quiet or args.json)
            try:
                run = retry_failed(backfill, options, reporter)
                if run.state == "paused":  # its walk had stopped early: go on with the rest
                    run = run_backfill(backfill, reporter=reporter, **overrides)
            except control.NothingToRetry:
                return _nothing_to_retry(backfill, args)
            except control.OtherParams as exc:
                return _refused(args, "run", exc, EXIT_USAGE)
            except (control.RunError, LostRun) as exc:
                return _refused(args, "run", exc, EXIT_FAILED)
            finally:
                getattr(reporter, "close", lambda: None)()
            return self._outcome(run, args, summary)
        reporter = reporter_for(cls.name, quiet=args.quiet or args.json)
        before = control.latest(backfill.name, backfill.database_alias())
        try:
            run = run_backfill(backfill, reporter=reporter, **overrides)
        except (control.RunError, LostRun) as exc:  # RunHeld is a RunError
            return _refused(args, "run", exc, EXIT_FAILED)
        finally:
            getattr(reporter, "close", lambda: None)()
        # The run that had already succeeded before this command, handed back: nothing to do.
        ran = before is None or run.pk != before.pk or before.state != "succeeded"
        return self._outcome(run, args, summary, ran=ran)

    def _detach(
        self, backfill: Backfill, overrides: dict[str, Any], args: argparse.Namespace
    ) -> int:
        from headroom.backfill import control
        from headroom.backfill.options import RunOptions

        options = RunOptions.build(backfill, **overrides)
        if options.executor != "celery":
            raise UsageError(
                "--detach needs the Celery executor: add --executor celery, or set "
                'HEADROOM["BACKFILL_EXECUTOR"] = "celery"'
            )
        from headroom.backfill.coordinator import no_celery_app, send_coordinator

        problem = no_celery_app()
        if problem:  # before the run is enqueued: nothing is left behind
            return _refused(args, "run", problem, EXIT_FAILED)
        from headroom.backfill.models import BackfillRun

        using = backfill.database_alias()
        try:
            run = control.enqueue(backfill.name, backfill.param_values(), using, "celery")
        except control.RunError as exc:
            return _refused(args, "run", exc, EXIT_FAILED)
        sent = {
            k: v
            for k, v in overrides.items()
            if v is not None and k not in ("executor", "take_over")
        }
        # Kept on the run: a coordinator the watchdog sends in place of a lost one uses them.
        BackfillRun.objects.using(using).filter(pk=run.pk).update(options=sent)
        send_coordinator(using, run.pk, sent)
        if args.json:
            _print_json(run.as_dict())
        else:
            print(
                f"run #{run.pk} of {run.name} is {run.state}: a Celery worker coordinates it. "
                f"Watch it with: headroom backfill status {run.name}"
            )
        return EXIT_OK

    def _outcome(
        self, run: BackfillRun, args: argparse.Namespace, summary: Any, ran: bool = True
    ) -> int:
        """Print how ``run`` ended (with ``--quiet``, only when it did not succeed) and
        return the exit code. ``ran``: False when there was nothing to do and ``run`` is the
        earlier run that did it."""
        from headroom.backfill import control

        # Still active and held by another process: taken over (--take-over elsewhere, or
        # the watchdog); stopped early on purpose (--batches) leaves it held by nobody.
        taken = run.is_active and bool(run.owner) and run.owner != control.owner_id()
        if args.json:
            _print_json({**run.as_dict(), "nothing_to_do": not ran})
        elif not (args.quiet and run.state == "succeeded"):
            print(f"{run.name} #{run.pk}: {summary(run)}")
            if run.message:
                print(f"    {run.message}")
            if taken:
                print(f"    taken over by {run.owner}; this process stopped")
        if run.state == "succeeded":
            return EXIT_OK
        if run.is_active:
            return EXIT_FAILED if taken else EXIT_OK
        return EXIT_FOUND


def _refuse_invalid_settings() -> None:
    """Stop ``run`` on the errors ``manage.py check`` reports about the backfill settings:
    with them the run would go on other settings than written (headroom's defaults, or a
    value out of range such as a negative rate cap)."""
    from headroom.backfill.checks import backfill_settings_errors

    errors = backfill_settings_errors()
    if errors:
        lines = "\n".join(
            f"  {m.id}: {m.msg}" + "".join(f"\n      {h}" for h in (m.hint or "").splitlines())
            for m in errors
        )
        raise UsageError(
            f"the backfill settings are invalid (python manage.py check says so):\n{lines}"
        )


def _check_batch_sizes(options: RunOptions, backfill: Backfill, args: argparse.Namespace) -> None:
    """Refuse a smallest batch larger than the largest, naming where each size came from
    (an option, the backfill class, or the setting)."""
    if options.min_batch_size <= options.max_batch_size:
        return

    def source(name: str) -> str:
        if getattr(args, name) is not None:
            return "--" + name.replace("_", "-")
        if getattr(backfill, name, None) is not None:
            return f"{backfill.name}.{name}"
        return f'HEADROOM["BACKFILL_{name.upper()}"]'

    raise UsageError(
        f"the smallest batch, {options.min_batch_size} ({source('min_batch_size')}), is "
        f"larger than the largest, {options.max_batch_size} ({source('max_batch_size')})"
    )


def _nothing_to_retry(backfill: Backfill, args: argparse.Namespace) -> int:
    """``--retry-failed`` with an empty failure ledger: nothing went wrong, so exit 0 (3 is
    for a run another process holds)."""
    from headroom.backfill import control

    last = control.latest(backfill.name, backfill.database_alias())
    where = f" (its last run, #{last.pk}, {last.state})" if last else " (it has never run)"
    text = f"{backfill.name} has no failed run with key ranges to retry{where}: nothing to retry."
    if args.json:
        _print_json(
            {
                "action": "run",
                "backfill": backfill.name,
                "retried": 0,
                "nothing_to_do": True,
                "message": text,
                "last_run": None if last is None else last.as_dict(),
            }
        )
    elif not args.quiet:
        print(text)
    return EXIT_OK


def _is_csv(cls: type[Backfill]) -> bool:
    from headroom.backfill.base import CsvBackfill

    return issubclass(cls, CsvBackfill)


def _kind(cls: type[Backfill]) -> str:
    from headroom.backfill.base import Backfill

    return "update" if cls.update is not None and cls.process is Backfill.process else "process"


def _print_dry_run(report: Any, duration: Any) -> None:
    print(
        f"Dry run of {report.name}: {len(report.batches)} batch(es) in a transaction that was "
        "rolled back; nothing was changed."
    )
    rate = report.rows / report.seconds if report.seconds else 0.0
    print(
        f"  {report.rows:,} rows in {report.seconds:.2f} s ({rate:,.0f} rows/s), "
        f"{100 * report.progress:.1f}% of the work"
    )
    if report.projected_seconds is not None:
        total = f"{report.rows_total:,} rows" if report.rows_total is not None else "the rest"
        print(
            f"  projected: {total} in about {duration(report.projected_seconds)} at this rate "
            "(plus throttle waits)"
        )
    for before, after in zip(report.before, report.after, strict=False):
        changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        change = (
            ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
            or "no change"
        )
        print(f"  row pk={before.get('pk')}: {change}")
    if report.before and not report.after:
        for row in report.before:
            print(f"  input row: {row}")
