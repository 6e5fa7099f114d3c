"""Stage 6: the report of a run (:mod:`.model`), its renderings (:mod:`.formats`), merging shard reports (:mod:`.merge`).

``from linkwatch.report import Report`` is the public spelling; the names load lazily so that
importing :mod:`.formats` (which the CLI does at start) does not pull in the whole pipeline.
"""
from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA_VERSION", "DocumentResult", "Report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'linkwatch.report' has no attribute {name!r}")
