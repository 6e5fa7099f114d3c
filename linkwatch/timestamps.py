"""The one timestamp format of linkwatch: ISO 8601, UTC, whole seconds, ``Z`` (``2026-01-31T09:05:00Z``).

Index rows, reports, events and WARC dates all use it, so they sort and compare as strings.
"""
from __future__ import annotations

from datetime import datetime, timezone


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
