"""Markdown format: a GitHub-flavoured page that fits a GitHub Actions job summary.

Append it to ``$GITHUB_STEP_SUMMARY``. Layout: heading, summary line, run facts, one table row
per document, then a "Findings" section with every warning and error, linked to the URL.
Stranger-supplied text is cleaned of controls, HTML-escaped (GitHub renders inline HTML) and
Markdown-escaped so a title can neither break the table nor turn into a link, image or heading.
"""
from __future__ import annotations

import html
import re
from pathlib import PurePosixPath
from urllib.parse import quote

from ..model import DocumentResult, Report, concern, problems_first, severity_rank
from ._text import clean

STATUS_EMOJI = {
    "ok": "✅",
    "broken": "❌",
    "wrong-document": "❌",
    "wrong-type": "❌",
    "unreachable": "⚠️",
    "blocked": "⚠️",
    "unverified": "❔",
    "unchecked": "⏸️",
}
SEVERITY_EMOJI = {"error": "🔴", "warning": "🟠", "info": "🔵"}

# Characters with Markdown meaning anywhere in a line. `|` breaks table cells; `[`/`]` make
# links, `!` images, `*`/`_`/`~` emphasis, backticks code, `\\` escapes the others.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!#])")


def md(text: str | None) -> str:
    """Inline-safe Markdown for untrusted text: one line, HTML and Markdown escaped."""
    text = clean(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str | None, *, cell: bool = False) -> str:
    """Untrusted text as inline code; backticks cannot be escaped inside code, so become `'`.

    In a table `cell`, `|` must still be escaped (GFM splits cells before parsing code spans).
    """
    text = clean(text).replace("`", "'")
    if cell:
        text = text.replace("|", "\\|")
    return f"`{text}`" if text else ""


def md_link(label: str, url: str | None) -> str:
    """A link for http(s) URLs; anything else (javascript:, data:, relative) stays plain text."""
    url = clean(url)
    if not re.match(r"(?i)https?://", url):
        return md(label) if not url else f"{md(label)} ({md_code(url)})"
    # Percent-encode what would end the link destination or the table cell.
    safe_url = quote(url, safe="/:?#[]@!$&'*+,;=%~-._")
    safe_url = safe_url.replace("(", "%28").replace(")", "%29").replace("|", "%7C")
    return f"[{md(label)}]({safe_url})"


def robust_link(label: str, doc: DocumentResult, archive: str | None) -> str | None:
    """``label`` (already Markdown) as a Robust Link to the document, or None when no version of it
    is known: ``<a href=ORIGINAL data-originalurl=ORIGINAL data-versionurl=… data-versiondate=…>``.

    The version is the web archive capture found by ``--suggest`` if any, else the copy kept in the
    archive folder (``archive`` as given + ``archived_path``). Every attribute value is
    percent-encoded where a URL allows it and HTML-escaped, so it can neither end the attribute nor
    split a table cell.
    """
    original = clean(doc.url)
    if not re.match(r"(?i)https?://", original):
        return None
    version, when = _version(doc, archive)
    if version is None:
        return None
    attrs = f'href="{_attr_url(original)}" data-originalurl="{_attr_url(original)}" data-versionurl="{version}"'
    if when:
        attrs += f' data-versiondate="{when}"'
    return f"<a {attrs}>{label}</a>"


def _version(doc: DocumentResult, archive: str | None) -> tuple[str | None, str | None]:
    """(escaped version URL, YYYY-MM-DD or None): the memento, else the local archived copy."""
    memento = clean(doc.memento_url)
    if re.match(r"(?i)https?://", memento):
        return _attr_url(memento), _day(doc.memento_at)
    if doc.archived_path and archive:
        local = PurePosixPath(clean(archive).replace("\\", "/")) / clean(doc.archived_path)
        return html.escape(quote(str(local), safe="/:._-~"), quote=True), _day(doc.archived_at)
    return None, None


def _attr_url(url: str) -> str:
    safe_url = quote(url, safe="/:?#[]@!$&'*+,;=%~-._").replace("|", "%7C")
    return html.escape(safe_url, quote=True)


def _day(stamp: str | None) -> str | None:
    m = re.match(r"(\d{4}-\d{2}-\d{2})", stamp or "")
    return m.group(1) if m else None


#: The most a summary may weigh: GitHub refuses a job summary over 1 MiB (1,048,576 bytes) per
#: step; the rest is margin for what a workflow appends around it.
SUMMARY_LIMIT = 1_000_000


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error", problems_only: bool = False, limit: int | None = SUMMARY_LIMIT) -> str:
    """The Markdown page, ending with a newline, at most `limit` bytes of UTF-8 (None: no limit).

    Problems first: documents with errors, then warnings, then never checked, then the rest, each
    with its findings. When they do not all fit, the least concerning are left out and a closing
    note counts them; the heading and counts always say how many there are in all.
    `problems_only` (``--quiet``) lists only documents with a warning or an error.
    """
    head = [_heading(report), "", _counts(report)]
    budget = (limit if limit is not None else float("inf")) - _size(head) - _NOTE_RESERVE
    rows: list[str] = []
    findings: list[str] = []
    left_out: dict[str, int] = {}  # status → documents not listed (the size limit was reached)
    for doc in problems_first(report.documents):
        if problems_only and concern(doc) > 1:
            continue
        if not left_out:
            row, found = _row(doc, report.archive), _doc_findings(doc, report.archive)
            cost = _size([row, *found])
            if cost <= budget:
                budget -= cost
                rows.append(row)
                findings += found
                continue
        left_out[doc.status] = left_out.get(doc.status, 0) + 1
    parts = [*head, ""]
    if rows:
        parts += [_TABLE_HEAD, _TABLE_ALIGN, *rows]
    elif not report.documents:
        parts.append("_No documents._")
    if findings:
        parts += ["", "### Findings", "", *findings]
    if left_out:
        parts += ["", _left_out_note(left_out)]
    return "\n".join(parts) + "\n"


_TABLE_HEAD = "| Status | Document | Symbol | Title | HTTP | Drift |"
_TABLE_ALIGN = "| :-- | :-- | :-- | :-- | --: | :-- |"
_NOTE_RESERVE = 600  # bytes kept for the table header and the closing note


def _size(lines: list[str]) -> int:
    """Bytes of ``lines`` joined by newlines, as written."""
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _counts(report: Report) -> str:
    """Documents per status, every status that occurs (a one-row table)."""
    counts = [(s, n) for s, n in report.counts()["by_status"].items() if n]
    if not counts:
        return ""
    return "\n".join([
        "| " + " | ".join(f"{STATUS_EMOJI.get(s, '❔')} {md(s)}" for s, _ in counts) + " |",
        "| " + " | ".join("--:" for _ in counts) + " |",
        "| " + " | ".join(f"{n:,}" for _, n in counts) + " |",
    ])


def _left_out_note(by_status: dict[str, int]) -> str:
    """What was not listed, counted by status: the summary's size limit left no room for them."""
    counted = ", ".join(f"{n:,} {md(s)}" for s, n in by_status.items())
    n = sum(by_status.values())
    return (f"> **{n:,} more document{'s' if n != 1 else ''} not listed here** ({counted}): a job summary "
            "must stay under GitHub's 1 MiB limit, and problems were listed first. Every document is in the "
            "full report (`--format json`, `html` or `junit`).")


def _heading(report: Report) -> str:
    """Heading, summary line and run facts."""
    worst = report.worst_severity()
    icon = SEVERITY_EMOJI.get(worst, "✅") if severity_rank(worst) >= 1 else "✅"
    manifests = ", ".join(md_code(m) for m in report.manifests) or "none"
    run = f"run {report.run_id} · " if report.run_id is not None else ""
    return "\n".join([
        f"## {icon} linkwatch {md(report.command)}",
        "",
        f"**{md(report.summary_line())}**",
        "",
        f"<sub>{run}{md(report.started_at)} → {md(report.finished_at)} · "
        f"linkwatch {md(report.tool_version)} · manifests: {manifests}</sub>",
    ])


def _row(doc: DocumentResult, archive: str | None = None) -> str:
    """A table row; the cited symbol/title are shown in italics when nothing was read. The id is a
    Robust Link to the document when a version of it is known (a capture or an archived copy)."""
    status = f"{STATUS_EMOJI.get(doc.status, '❔')} {md(doc.status)}"
    symbol = md(doc.found_symbol) if doc.found_symbol else _expected(doc.expected_symbol)
    title = md(doc.title) if doc.title else _expected(doc.expected_title)
    http = str(doc.http_status) if doc.http_status is not None else "—"
    drift = ", ".join(md(k) for k in doc.drift)
    ident = md_code(doc.id, cell=True)
    ident = robust_link(ident, doc, archive) or ident
    return f"| {status} | {ident} | {symbol} | {title} | {http} | {drift} |"


def _expected(text: str | None) -> str:
    """Cited (not found) text, italicised so readers can tell it from what was read."""
    escaped = md(text)
    return f"_{escaped}_" if escaped else ""


def _doc_findings(doc: DocumentResult, archive: str | None) -> list[str]:
    """The warnings and errors of one document, linked to its URL (nothing when it has none)."""
    findings = doc.findings_at_least("warning")
    if not findings:
        return []
    where = f"{md_code(doc.manifest)} line {doc.line}"
    link = robust_link(md(doc.symbol or doc.url), doc, archive) or md_link(doc.symbol or doc.url, doc.url)
    lines = [f"- {md_code(doc.id)} — {link} ({where})"]
    if doc.final_url and doc.final_url != doc.url:
        lines.append(f"  - final URL: {md_link(doc.final_url, doc.final_url)}")
    for f in findings:
        icon = SEVERITY_EMOJI.get(f.severity, "")
        lines.append(f"  - {icon} **{md(f.severity)}** {md_code(f.kind)}: {md(f.message)}")
    return lines
