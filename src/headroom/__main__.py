from __future__ import annotations

from headroom.cli import main

raise SystemExit(main())
