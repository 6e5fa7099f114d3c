"""Output formats: turn a :class:`~linkwatch.report.Report` into text.

Each format lives in its own module exposing ``render(report, *, color, width, fail_on) -> str``;
:func:`render` dispatches by name. Every format treats strings that came from servers and PDFs
(titles, symbols found, URLs, messages) as hostile: see :mod:`linkwatch.report.formats._text`.
"""
from __future__ import annotations

import inspect
import os
from importlib import import_module
from types import ModuleType
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports FORMATS before it knows it will render anything
    from ..model import Report

FORMATS = ("table", "json", "markdown", "junit", "github", "html")


def render(
    report: Report,
    fmt: str,
    *,
    color: bool = False,
    width: int | None = None,
    fail_on: str = "error",
    archive: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    problems_only: bool = False,
) -> str:
    """Render `report` in format `fmt` (one of `FORMATS`).

    `color` and `width` only matter to "table" (None: the terminal's width, else 80).
    `fail_on` ("error" | "warning" | "info" | "never") is the `--fail-on` threshold; "junit"
    marks a test case failed when the document has a finding at or above it ("never": none).
    `archive` (the archive folder) and `output` (the file written, None for stdout) let formats
    that link to archived copies ("html") compute links relative to the output; formats whose
    ``render`` does not take them never see them. `problems_only` (``--quiet``): formats that list
    documents ("table", "markdown") list only those with a warning or an error, and still count
    every document in their summary. The result ends with a newline.
    """
    module = _module(fmt)
    extra = {k: v for k, v in (("archive", archive), ("output", output), ("problems_only", problems_only or None))
             if v is not None and k in inspect.signature(module.render).parameters}
    return module.render(report, color=color, width=width, fail_on=fail_on, **extra)


def write(
    report: Report,
    fmt: str,
    stream: IO[str],
    *,
    color: bool = False,
    width: int | None = None,
    fail_on: str = "error",
    archive: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    problems_only: bool = False,
) -> None:
    """Write what :func:`render` returns to ``stream``; formats that can ("json") write it a
    document at a time instead of building one string (a 10,000-document report)."""
    module = _module(fmt)
    if hasattr(module, "write"):
        extra = {k: v for k, v in (("archive", archive), ("output", output))
                 if v is not None and k in inspect.signature(module.write).parameters}
        module.write(report, stream, **extra)
    else:
        text = render(report, fmt, color=color, width=width, fail_on=fail_on, archive=archive, output=output,
                      problems_only=problems_only)
        stream.write(text if text.endswith("\n") else text + "\n")


def _module(fmt: str) -> ModuleType:
    """The module of format ``fmt``, imported lazily so `linkwatch --format json` never pays for rich."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return import_module(f".{fmt}", __name__)
