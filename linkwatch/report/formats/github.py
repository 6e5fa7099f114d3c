"""GitHub format: workflow commands that become annotations on the manifest lines.

One command per finding: ``::error`` for errors, ``::warning`` for warnings, ``::notice`` for
info (GitHub caps annotations per type — 10 of each per step — so notices never displace
errors). Commands are grouped error → warning → notice, each group in document order, so the
capped ones shown are the most serious. A plain summary line ends the output.

    ::error file=manifests/wsis.toml,line=12,title=linkwatch wrong-document%3A a-78-1::...

Escaping follows the runner's rules (actions/toolkit `command.ts`): in the message ``%``,
CR and LF are percent-encoded; in property values ``:`` and ``,`` too. Stranger text is also
cleaned of escapes and controls, so nothing can end the command early or inject another.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._text import clean

if TYPE_CHECKING:  # `linkwatch lint --format github` uses the escapes alone
    from ..model import DocumentResult, Finding, Report

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(doc: DocumentResult, finding: Finding) -> str:
    """The workflow command for one finding of one document."""
    props = {
        "file": clean(doc.manifest),
        "line": str(doc.line),
        "title": clean(f"linkwatch {finding.kind}: {doc.id}"),
    }
    prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    message = clean(f"{finding.message} ({doc.url})" if doc.url else finding.message)
    return f"::{_COMMAND[finding.severity]} {prop_text}::{escape_data(message)}"


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error") -> str:
    """Every annotation, most severe first, then `linkwatch: <summary>`; ends with a newline."""
    lines = [
        annotation(doc, f)
        for severity in ("error", "warning", "info")
        for doc in report.documents
        for f in doc.findings
        if f.severity == severity
    ]
    lines.append(f"linkwatch: {clean(report.summary_line())}")
    return "\n".join(lines) + "\n"
