"""``headroom demo``: build the demo shop, run the doctor on it, print what it found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from headroom.cli import EXIT_FAILED, EXIT_OK, Verb, verb

DESCRIPTION = """\
Build the bundled demo shop (SQLite, about 20,000 products and 200,000 orders; --small
for a quick one), start its slow local mail server and payment API, and run
`headroom doctor` on it. The shop has six problems planted the way real code gets them;
the report shows each with its URL pattern, file:line and fix.

HEADROOM_DEMO_FIXED=1 (or --fixed) serves the same shop with every problem fixed.

The database is built once under --workdir and reused.

Exit codes: 0 the demo ran (whatever it found), 2 bad usage, 3 it could not run."""


@verb
class DemoVerb(Verb):
    name = "demo"
    help = "Run the doctor on the bundled demo shop (SQLite, no services needed)."
    description = DESCRIPTION
    needs_django = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from headroom.doctor.commands import add_doctor_arguments

        parser.add_argument(
            "--small", action="store_true", help="a small shop (quick, used by the tests)."
        )
        parser.add_argument(
            "--fixed",
            action="store_true",
            help="serve the shop with every planted problem fixed (as HEADROOM_DEMO_FIXED=1).",
        )
        parser.add_argument(
            "--workdir",
            type=Path,
            default=Path(".headroom-demo"),
            help="where the demo databases live (default ./.headroom-demo).",
        )
        add_doctor_arguments(parser)

    def run(self, args: argparse.Namespace) -> int:
        import os

        from headroom.demo.environment import prepare
        from headroom.doctor.commands import options_from_args, run_and_print

        fixed = args.fixed or os.environ.get("HEADROOM_DEMO_FIXED", "") not in ("", "0")
        size = "small" if args.small else "default"
        show = not args.json and sys.stderr.isatty()
        print(
            f"headroom demo: preparing the {size} demo shop"
            f"{' (fixed)' if fixed else ''} in {args.workdir}/ ...",
            file=sys.stderr,
        )
        with prepare(size=size, fixed=fixed, workdir=args.workdir, progress=show) as env:
            options = options_from_args(args, server_env=env.env)
            report = run_and_print(options, as_json=args.json)
        return EXIT_OK if report is not None else EXIT_FAILED
