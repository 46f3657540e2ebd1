"""Every option, check id, verb and finding kind is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from headroom.checks.messages import MESSAGES
from headroom.cli import discover
from headroom.conf import HeadroomSettings
from headroom.doctor.findings import KINDS

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"


def test_every_option_is_in_docs_settings() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [f.name for f in dataclasses.fields(HeadroomSettings) if f"`{f.name}`" not in text]
    assert not missing


def test_every_check_id_is_in_docs_checks() -> None:
    text = (DOCS / "checks.md").read_text()
    assert [cid for cid in MESSAGES if f"`{cid}`" not in text] == []


def test_every_finding_kind_is_in_docs_report() -> None:
    text = (DOCS / "report.md").read_text()
    assert [kind for kind in KINDS if f"`{kind}`" not in text] == []


def test_every_verb_is_in_the_readme() -> None:
    text = README.read_text()
    assert [name for name in discover() if f"headroom {name}" not in text] == []
