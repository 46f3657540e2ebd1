from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_probe_loads_nothing_heavy() -> None:
    code = (
        "import sys, django; django.setup(); before = set(sys.modules);"
        "import headroom.probe;"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('headroom')))"
        ";print([m for m in ('requests', 'urllib3', 'rich') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == ["[]", "[]"]
