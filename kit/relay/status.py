"""The relay's counters and its status page (``/_relay/status``, ``?format=json``).

The page shows what an instructor wants to see during a lesson: who is connected, how many
requests the class made, how many the upstream saw, and how many the cache and coalescing
saved. It never shows a token, a credential or the upstream's URL.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

CONNECTED_WINDOW = 300.0  # seconds since a student's last request for them to count as connected


@dataclass
class RelayStats:
    """Counters of one relay process (touched on the kit loop only)."""

    started: float = field(default_factory=time.time)
    requests: int = 0
    memory_hits: int = 0
    coalesced: int = 0
    synthesised: int = 0
    upstream_requests: int = 0  # reads past the memory layer: the disk cache (--cache) or upstream
    upstream_errors: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    bytes_sent: int = 0
    consolidated: str = "pending"  # "pending", "ready (N documents)", "failed: ..."
    last_seen: dict[str, float] = field(default_factory=dict)
    per_student: dict[str, int] = field(default_factory=dict)

    def seen(self, student: str) -> None:
        self.last_seen[student] = time.time()
        self.per_student[student] = self.per_student.get(student, 0) + 1

    def connected(self) -> list[str]:
        now = time.time()
        return sorted(s for s, t in self.last_seen.items() if now - t <= CONNECTED_WINDOW)

    def to_dict(self) -> dict:
        saved = self.memory_hits + self.coalesced + self.synthesised
        answered = saved + self.upstream_requests
        return {
            "uptime_s": round(time.time() - self.started, 1),
            "students_connected": self.connected(),
            "students_seen": len(self.last_seen),
            "requests": self.requests,
            "requests_per_student": dict(sorted(self.per_student.items())),
            "memory_hits": self.memory_hits,
            "coalesced": self.coalesced,
            "consolidated_answers": self.synthesised,
            "upstream_requests": self.upstream_requests,
            "upstream_errors": self.upstream_errors,
            "upstream_requests_saved": saved,
            "hit_rate": round(saved / answered, 4) if answered else None,
            "rate_limited": self.rate_limited,
            "unauthorized": self.unauthorized,
            "bytes_sent": self.bytes_sent,
            "consolidated_metadata": self.consolidated,
            "cpu_s": round(time.process_time(), 3),
        }


def render_html(stats: dict) -> str:
    """The status page as a small HTML document (values escaped)."""
    rows = "".join(
        f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(_text(v))}</td></tr>"
        for k, v in stats.items())
    return ("<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' "
            "content='5'><title>ngff-kit relay</title></head><body><h1>ngff-kit relay</h1>"
            f"<table>{rows}</table><p>JSON: <a href='?format=json'>?format=json</a></p>"
            "</body></html>")


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)
