"""Output formats: turn a :class:`~linkwatch.report.Report` into text.

Each format lives in its own module exposing ``render(report, *, color, width, fail_on) -> str``;
:func:`render` dispatches by name. Every format treats strings that came from servers and PDFs
(titles, symbols found, URLs, messages) as hostile: see :mod:`linkwatch.formats._text`.
"""
from __future__ import annotations

from importlib import import_module

from ..report import Report

FORMATS = ("table", "json", "markdown", "junit", "github")


def render(
    report: Report,
    fmt: str,
    *,
    color: bool = False,
    width: int | None = None,
    fail_on: str = "error",
) -> str:
    """Render `report` in format `fmt` (one of `FORMATS`).

    `color` and `width` only matter to "table" (None: the terminal's width, else 80).
    `fail_on` ("error" | "warning" | "info" | "never") is the `--fail-on` threshold; "junit"
    marks a test case failed when the document has a finding at or above it ("never": none).
    The result ends with a newline.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    # Imported lazily so `linkwatch --format json` never pays for rich.
    module = import_module(f".{fmt}", __name__)
    return module.render(report, color=color, width=width, fail_on=fail_on)
