"""``headroom <verb>``: one entry point for the console script and ``manage.py headroom``.

Verbs register themselves: each capability package may hold a ``commands`` module that
defines :class:`Verb` subclasses decorated with :func:`verb`. :func:`main` imports every
``headroom.<package>.commands`` module it finds, so adding a verb never means editing a list
here. Those modules must import nothing heavy at module level.

Exit codes shared by every verb: 0 success, 1 the verb found problems (documented per verb),
2 bad usage or configuration, 3 the verb could not run (a server did not start, ...).
"""

from __future__ import annotations

import abc
import argparse
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import ClassVar, TypeVar

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_FAILED = 3


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


class Verb(abc.ABC):
    """One ``headroom <verb>``. Subclass, set ``name`` and ``help``, decorate with @verb."""

    name: ClassVar[str]
    help: ClassVar[str]
    #: Longer text shown by ``headroom <verb> --help``.
    description: ClassVar[str | None] = None
    #: Whether Django must be set up (settings configured, apps loaded) before ``run``.
    needs_django: ClassVar[bool] = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional
        """Add the verb's own options."""

    @abc.abstractmethod
    def run(self, args: argparse.Namespace) -> int:
        """Do the verb's work; return the exit code."""


_V = TypeVar("_V", bound=type[Verb])
_registry: dict[str, type[Verb]] = {}


def verb(cls: _V) -> _V:
    """Class decorator: make ``cls`` available as ``headroom <cls.name>``."""
    existing = _registry.get(cls.name)
    if existing is not None and existing is not cls:
        raise RuntimeError(f"two headroom verbs are named {cls.name!r}: {existing} and {cls}")
    _registry[cls.name] = cls
    return cls


def discover() -> dict[str, type[Verb]]:
    """Import every ``headroom.<package>.commands`` module and return the registered verbs."""
    import headroom

    for info in pkgutil.iter_modules(headroom.__path__):
        if not info.ispkg:
            continue
        name = f"headroom.{info.name}.commands"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return dict(sorted(_registry.items()))


def build_parser(verbs: dict[str, type[Verb]]) -> argparse.ArgumentParser:
    from headroom import __version__

    parser = argparse.ArgumentParser(
        prog="headroom",
        description="Find where a Django site will fall over before its users do.",
        epilog="Exit codes: 0 ok, 1 problems found, 2 bad usage, 3 could not run. "
        "Run `headroom <verb> --help` for a verb's options.",
    )
    parser.add_argument("--version", action="version", version=f"django-headroom {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="<verb>")
    for name, cls in verbs.items():
        instance = cls()
        vp = sub.add_parser(
            name,
            help=cls.help,
            description=cls.description or cls.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if cls.needs_django:
            vp.add_argument(
                "--settings",
                help="Django settings module, e.g. mysite.settings "
                "(default: $DJANGO_SETTINGS_MODULE).",
            )
        vp.set_defaults(_verb=instance)
        instance.add_arguments(vp)
    return parser


def setup_django(settings_module: str | None) -> None:
    """Configure Django the way ``manage.py`` would, from the current directory."""
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise UsageError(
            "this verb needs your project's settings. Run it from your project as\n"
            "    python manage.py headroom <verb>\n"
            "or pass them:  headroom <verb> --settings mysite.settings"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    import django

    try:
        django.setup()
    except ModuleNotFoundError as exc:
        raise UsageError(
            f"could not import the settings module "
            f"{os.environ['DJANGO_SETTINGS_MODULE']!r} ({exc}). Run headroom from the "
            "directory that holds manage.py, or fix --settings."
        ) from exc


def main(argv: Sequence[str] | None = None, *, django_ready: bool = False) -> int:
    """Run ``headroom`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    verbs = discover()
    parser = build_parser(verbs)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    instance: Verb | None = getattr(args, "_verb", None)
    if instance is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if instance.needs_django and not django_ready:
            setup_django(getattr(args, "settings", None))
        return instance.run(args)
    except UsageError as exc:
        print(f"headroom {instance.name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"headroom {instance.name}: interrupted", file=sys.stderr)
        return 130
