"""linkwatch: watch the documents other documents cite.

The public, one-call API lives in :mod:`linkwatch.api` and is re-exported here::

    import linkwatch
    report = linkwatch.check(["manifests/cstd-wsis.toml"])
    print(report.exit_code("error"))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "check": "api", "archive": "api", "status": "api", "history": "api", "diff": "api", "inspect_files": "api",
    "verify": "api", "events": "api", "export_warc": "api", "export_wacz": "api", "export_bagit": "api",
    "resolve_symbol": "api", "discover_references": "api", "merge_discovered": "api",
    "merge_reports": "api", "lint": "api", "dry_run": "api",
    "ManifestError": "manifest", "Report": "report", "RunFailed": "run", "render": "report.formats",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # what type checkers and editors see behind the lazy names (py.typed ships)
    from .api import (
        archive,
        check,
        diff,
        discover_references,
        dry_run,
        events,
        export_bagit,
        export_wacz,
        export_warc,
        history,
        inspect_files,
        lint,
        merge_discovered,
        merge_reports,
        resolve_symbol,
        status,
        verify,
    )
    from .manifest import ManifestError
    from .report import Report
    from .report.formats import render
    from .run import RunFailed


def __getattr__(name: str) -> Any:
    # Lazy: `import linkwatch` stays cheap, which matters for the inspection worker processes
    # (they import linkwatch.pdf.inspect and nothing of the HTTP machinery).
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'linkwatch' has no attribute {name!r}")
