"""A finding: one problem, with the numbers that prove it and the fix to paste."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

#: Finding kinds produced from the load run. Static findings use their check or rule id
#: (``headroom.W001``, ``HR101``) as their kind.
KINDS = {
    "n_plus_one": "The same query runs once per row of a list (N+1).",
    "missing_index": "A query scans a big table; an index that serves it was proven.",
    "slow_query": "A query is slow and no simple index was proven to serve it.",
    "blocking_call": "The request waits on an outbound HTTP call.",
    "sync_email": "The request waits for an email to be sent.",
    "tiny_chunks": "A streaming response is sent in tiny chunks.",
}

SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Location:
    file: str
    line: int
    function: str | None = None
    #: For problems raised during template rendering: the template and its line.
    template: str | None = None
    template_line: int | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}"
        if self.template:
            text = f"{self.template}:{self.template_line} (via {text})"
        return text


@dataclass
class Finding:
    kind: str
    severity: Severity
    title: str
    fix: str
    url_pattern: str | None = None
    location: Location | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    #: How much this costs, in milliseconds of server time per request of its URL pattern
    #: (used to order findings); 0 for static findings.
    cost_ms: float = 0.0

    def sort_key(self) -> tuple[int, float, str]:
        return (SEVERITY_RANK[self.severity], -self.cost_ms, self.kind)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.location is None:
            data["location"] = None
        return data
