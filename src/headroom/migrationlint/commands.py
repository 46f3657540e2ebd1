"""``headroom lint-migrations``: the migration linter on the command line."""

from __future__ import annotations

import argparse

from headroom.cli import EXIT_FOUND, EXIT_OK, UsageError, Verb, verb


@verb
class LintMigrationsVerb(Verb):
    name = "lint-migrations"
    help = "Find migrations that break running code or lock big tables."
    description = (
        "Lint migrations without a database: each operation is judged against the model\n"
        "state just before it. Backward compatibility (old code on the new schema), PostgreSQL\n"
        "locks, data migrations, rollback, expand/contract phases. Every finding prints the\n"
        "safe alternative as code; rules are documented in docs/migrationlint/.\n\n"
        "Targets: `shop` (every migration of an app) or `shop.0002` (a name prefix).\n"
        "Silence a finding in the migration, with a reason:\n"
        '    headroom_ignore = {"HR101": "column unused since release 4.2"}\n\n'
        "Exit codes: 0 no errors, 1 at least one error (warnings count with\n"
        "--warnings-as-errors), 2 bad usage (unknown app, revision or alias)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "targets", nargs="*", metavar="app[.migration]", help="What to lint (default: all)."
        )
        parser.add_argument(
            "--since",
            metavar="GIT_REV",
            help="Only migrations whose files were added since this git revision.",
        )
        parser.add_argument(
            "--format",
            choices=("text", "json", "github", "sarif"),
            default="text",
            help="Output format (default: text).",
        )
        parser.add_argument("--json", action="store_true", help="Same as --format json.")
        parser.add_argument(
            "--database",
            metavar="ALIAS",
            help="Read table sizes from this database to grade lock findings, and use its "
            "engine's rules (default: no connection, the 'default' alias's engine).",
        )
        parser.add_argument(
            "--project-only",
            action="store_true",
            help="Leave out Django's and third-party apps: only the project's own code.",
        )
        parser.add_argument(
            "--warnings-as-errors",
            nargs="?",
            const="*",
            metavar="RULES",
            help="Count warnings as errors: all, or a comma-separated list of rule ids.",
        )
        parser.add_argument(
            "--disable", metavar="RULES", help="Comma-separated rule ids not to report."
        )
        parser.add_argument(
            "-v", "--verbose", action="store_true", help="Also show notes (info findings)."
        )

    def run(self, args: argparse.Namespace) -> int:
        from headroom.migrationlint import RULES, LintError, lint
        from headroom.migrationlint.output import RENDERERS, render_text

        def rule_list(value: str | None) -> list[str]:
            ids = [v.strip().upper() for v in (value or "").split(",") if v.strip()]
            unknown = [i for i in ids if i != "*" and i not in RULES]
            if unknown:
                raise UsageError(f"unknown rule id(s): {', '.join(unknown)}")
            return ids

        try:
            result = lint(
                targets=list(args.targets) or None,
                since=args.since,
                database=args.database,
                project_only=args.project_only,
                warnings_as_errors=rule_list(args.warnings_as_errors),
                disable=rule_list(args.disable),
            )
        except LintError as exc:
            raise UsageError(str(exc)) from exc
        fmt = "json" if args.json else args.format
        if fmt == "text":
            print(render_text(result, verbose=args.verbose))
        else:
            print(RENDERERS[fmt](result))
        return EXIT_FOUND if result.errors else EXIT_OK
