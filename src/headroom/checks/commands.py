"""``headroom check``: the headroom system checks, deployment checks included."""

from __future__ import annotations

import argparse
import json

from headroom.cli import EXIT_FOUND, EXIT_OK, Verb, verb


@verb
class CheckVerb(Verb):
    name = "check"
    help = "Run the headroom system checks, deployment checks included."
    description = (
        "Run the system checks tagged 'headroom' (settings that make a site fall over under\n"
        "load), including the ones Django only runs with `check --deploy`.\n\n"
        "Exit codes: 0 nothing found, 1 at least one warning or error, 2 bad usage."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the messages as JSON.")

    def run(self, args: argparse.Namespace) -> int:
        from django.core import checks

        found = [
            m
            for m in checks.run_checks(tags=["headroom"], include_deployment_checks=True)
            if not m.is_silenced()
        ]
        if args.json:
            rows = [{"id": m.id, "level": m.level, "msg": m.msg, "hint": m.hint} for m in found]
            print(json.dumps(rows, indent=2))
        elif not found:
            print("headroom check: no problems found.")
        else:
            for m in found:
                print(f"{m.id}: {m.msg}")
                if m.hint:
                    for line in m.hint.splitlines():
                        print(f"    {line}")
            print(f"\n{len(found)} problem(s).")
        return EXIT_FOUND if found else EXIT_OK
