"""One setting to change: its current and recommended value, why, and the line to run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Check id by category (messages in headroom.checks.messages; docs/checks.md).
CHECK_IDS = {
    "connections": "headroom.E301",
    "memory": "headroom.W301",
    "observability": "headroom.W302",
    "planner": "headroom.W303",
    "sqlite": "headroom.W304",
    "unreadable": "headroom.I301",
}


@dataclass
class Recommendation:
    alias: str
    vendor: str  # "PostgreSQL", "MariaDB", "MySQL", "SQLite"
    category: str  # a key of CHECK_IDS
    setting: str
    current: str
    recommended: str
    why: str
    #: The lines to run or paste (ALTER SYSTEM ..., SET GLOBAL ..., a DATABASES option).
    fix: str
    restart: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def check_id(self) -> str:
        return CHECK_IDS[self.category]

    @property
    def severity(self) -> str:
        return {"E": "error", "W": "warning", "I": "info"}[self.check_id.split(".")[1][0]]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["check"] = self.check_id
        return data


@dataclass
class Audit:
    alias: str
    vendor: str
    ram: int | None
    ram_source: str
    recommendations: list[Recommendation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "vendor": self.vendor,
            "ram_bytes": self.ram,
            "ram_source": self.ram_source,
            "facts": self.facts,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "notes": self.notes,
        }
