"""HTML format: one self-contained status page people can read, share, print and open offline.

Everything is in the one file: CSS in a ``<style>`` block, the availability timelines as inline
SVG, and a small static script for sorting and filtering. Nothing is fetched: a
Content-Security-Policy (``default-src 'none'``, the style and script allowed by their sha256
hashes only, images only as ``data:``) makes sure of it even if a hostile string slipped through.

Layout: heading and run facts; summary counts by status and by severity (with a stacked bar);
filter controls; one table row per document (status badge, id and manifest line, symbol,
title, language, last change, an availability timeline with one mark per run coloured by
status, links to the original and to the archived copy) with its findings in words.
Below 720 px the rows turn into cards; printing drops the controls and keeps the colours.

Every string that came from a server, a PDF or a report file is cleaned of controls
(:func:`~linkwatch.report.formats._text.clean`) and HTML-escaped, attributes included; only http(s)
URLs become links; statuses and severities only become CSS classes from a fixed list. The
script is constant (it reads the DOM and never builds HTML), so its hash is constant too.

Links to the original carry Robust Links attributes (``data-versionurl``, ``data-versiondate``)
when an archived copy is known. The archived copy's ``href`` is relative to the page: pass
``archive`` (the archive folder) and ``output`` (where the page is written; default the current
directory) to :func:`render`.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from html import escape
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import quote

from ...compare import DRIFTS, SEVERITIES
from ..model import DocumentResult, Report, problems_first, severity_rank
from ._text import clean

# Status → colour family. Red: the citation is failing; amber: cannot tell or may recover.
_TONE = {
    "ok": "good", "broken": "bad", "wrong-document": "bad", "wrong-type": "bad",
    "unreachable": "warn", "blocked": "warn", "unverified": "warn", "unchecked": "none",
}
# Sort order of the status column: worst first.
_STATUS_ORDER = ("broken", "wrong-document", "wrong-type", "unreachable", "blocked", "unverified", "unchecked", "ok")
# The legend: every status and finding kind, in words (README's tables, shortened).
STATUS_MEANING = {
    "ok": "reachable, and page 1 shows the cited symbol (in the cited language)",
    "broken": "a definitive HTTP error (404, 410, 5xx after retries), a redirect loop or a refused redirect",
    "unreachable": "a network failure after retries (DNS, refused, timeout, reset)",
    "blocked": "a bot challenge, 401/403, or 429 after retries",
    "wrong-type": "a PDF was expected; HTML or an empty body came",
    "wrong-document": "page 1 shows another symbol, another language, or the ODS “does not exist” placeholder",
    "unverified": "fetched, but no symbol could be read (or the PDF could not be inspected)",
    "unchecked": "listed in a manifest, never observed yet (a run stopped before it)",
}
FINDING_MEANING = {
    "gone": "was ok, now broken or unreachable",
    "recovered": "was not ok, now ok",
    "moved": "a permanent redirect, or the final URL changed since last time",
    "content-changed": "new bytes (a new sha256) since last time",
    "reissued": "the new version is marked reissued (“Reissued for technical reasons”)",
    "retitled": "the title on page 1 changed",
    "type-changed": "a PDF became HTML, or the reverse",
    "superseded": "the URL now serves a later edition of the cited document",
    "title-mismatch": "the title on page 1 is far from the cited one",
    "mirror": "the primary URL failed and a mirror answered",
    "insecure-redirect": "an https URL redirected to plain http",
    "suggestion": "a web archive capture to replace a dead link (--suggest)",
}
_BLOB_PATH = re.compile(r"blobs/sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_COLUMNS = ("Status", "Document", "Symbol", "Title", "Lang", "Last change", "Availability", "Links")
_SORTABLE = {"Status", "Document", "Symbol", "Title", "Lang", "Last change"}

_CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--card:#f6f8fa;
--good:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da;--none:#8c959f}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#3d444d;
--card:#151b23;--good:#3fb950;--bad:#f85149;--warn:#d29922;--info:#4493f8}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem;margin:.2rem 0}
a{color:var(--info)}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.facts,.muted,small{color:var(--muted)}
.facts{margin:.2rem 0 1rem;overflow-wrap:anywhere}
.summary{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 .5rem;padding:0;list-style:none}
.summary li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.35rem .6rem;min-width:6.5rem}
.summary li.zero{opacity:.55}
.summary .n{display:block;font-size:1.35rem;font-weight:700}
.legend{margin:.3rem 0 .8rem}.legend dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
.legend dd{margin:0}.legend h2{font-size:1rem;margin:.6rem 0 .2rem}
.bar{display:block;width:100%;height:10px;margin:.3rem 0 1rem;border-radius:3px}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-weight:600;font-size:.85em;
white-space:nowrap;color:#fff;background:var(--none)}
.t-good{background:var(--good)}.t-bad{background:var(--bad)}.t-warn{background:var(--warn)}
.sev-error{color:var(--bad)}.sev-warning{color:var(--warn)}.sev-info{color:var(--info)}
.f-good{fill:var(--good)}.f-bad{fill:var(--bad)}.f-warn{fill:var(--warn)}.f-none{fill:var(--none)}
svg.tl path{stroke-width:18px;stroke-dasharray:5px 2px;fill:none}
.s-good{stroke:var(--good)}.s-bad{stroke:var(--bad)}.s-warn{stroke:var(--warn)}.s-none{stroke:var(--none)}
.controls{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}
.controls input[type=search],.controls select{font:inherit;padding:.2rem .4rem;color:inherit;background:var(--bg);
border:1px solid var(--line);border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid var(--line)}
th{position:sticky;top:0;background:var(--bg);white-space:nowrap}
th button{font:inherit;font-weight:700;color:inherit;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td{overflow-wrap:anywhere}
td.title{min-width:16rem}
td.sym{overflow-wrap:normal;min-width:7rem}td.links{white-space:nowrap}
.cited{font-style:italic;color:var(--muted)}
ul.findings{margin:.3rem 0 0;padding-left:1.1rem;font-size:.9em}
svg.tl{display:block;height:18px;width:auto}
tr[hidden]{display:none}
@media (max-width:720px){
body{padding:.6rem;font-size:14px}
.summary{gap:.25rem}.summary li{min-width:0;padding:.15rem .4rem}.summary li.zero{display:none}
.summary .n{display:inline;font-size:1rem;margin-right:.25rem}
.legend dl{grid-template-columns:1fr}.legend dd{margin:0 0 .3rem}
table,tbody,tr,td{display:block;width:100%}
thead tr{display:flex;flex-wrap:wrap;gap:.2rem .8rem}
th{position:static;border:0;padding:.2rem 0}
th.nosort{display:none}
tbody tr{border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.3rem .5rem}
td{border:0;padding:.15rem 0}
#docs td::before{color:var(--muted);font-size:.85em}
__LABELS__
td.title,td.sym{min-width:0}td.links{white-space:normal}
}
@media print{
.controls{display:none}
body{max-width:none;padding:0;font-size:10pt;color:#000;background:#fff}
th{position:static}
tr{break-inside:avoid}
.badge,svg,.bar{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a.orig::after{content:" <" attr(href) ">";font-size:.8em;color:#555;overflow-wrap:anywhere}
}
""".strip()

# Static: reads the DOM, never builds HTML from data. Filter and sort state live in the URL
# fragment (#q=…&status=…&problems=1&sort=3&dir=desc), so a filtered view can be linked to.
_JS = """
(function () {
  "use strict";
  var table = document.getElementById("docs");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var more = document.getElementById("more");
  // Rows past the first page wait, parsed but never laid out, in a <template>: a page of 10,000
  // documents becomes interactive as fast as one of a few hundred. Filtering and sorting work
  // on every row; only the first PAGE that match are in the table until "show all".
  var rows = Array.prototype.slice.call(tbody.rows).concat(
    more ? Array.prototype.slice.call(more.content.querySelectorAll("tr")) : []);
  var stash = document.createDocumentFragment();
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var q = document.getElementById("q"), status = document.getElementById("status");
  var problems = document.getElementById("problems"), shown = document.getElementById("shown");
  var all = document.getElementById("all");
  var PAGE = 200, limit = PAGE, order = rows.slice(), matching = rows.slice(), texts = new Map();
  var sortCol = -1, sortDir = 1;

  function key(row, col) {
    var cell = row.cells[col];
    var first = cell.firstChild;  // the title or id itself, not the findings or notes under it
    return cell.getAttribute("data-v") || (first ? first.textContent : "").trim().toLowerCase();
  }
  function text(row) {
    var t = texts.get(row);
    if (t === undefined) { t = row.textContent.toLowerCase(); texts.set(row, t); }
    return t;
  }
  function place() {
    while (tbody.firstChild) { stash.appendChild(tbody.firstChild); }
    var n = Math.min(limit, matching.length);
    for (var i = 0; i < n; i += 1) { matching[i].hidden = false; tbody.appendChild(matching[i]); }
    shown.textContent = n === matching.length || matching.length === rows.length
      ? n + " of " + rows.length + " documents shown"
      : n + " of " + matching.length + " matching documents shown (" + rows.length + " in all)";
    if (all) { all.hidden = n === matching.length; }
  }
  function sort(col, dir) {
    sortCol = col; sortDir = dir;
    var keyed = rows.map(function (r, i) { return [key(r, col), i, r]; });
    keyed.sort(function (a, b) { return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]; });
    order = keyed.map(function (o) { return o[2]; });
    heads.forEach(function (th, i) {
      if (th.querySelector("button")) {
        th.setAttribute("aria-sort", i === col ? (dir > 0 ? "ascending" : "descending") : "none");
      }
    });
  }
  function filter() {
    var needle = q.value.trim().toLowerCase(), want = status.value, only = problems.checked;
    matching = order.filter(function (r) {
      return (!want || r.getAttribute("data-status") === want) &&
        (!only || r.getAttribute("data-problem") === "1") &&
        (!needle || text(r).indexOf(needle) >= 0);
    });
    place();
  }
  function save() {
    var p = new URLSearchParams();
    if (q.value) { p.set("q", q.value); }
    if (status.value) { p.set("status", status.value); }
    if (problems.checked) { p.set("problems", "1"); }
    if (sortCol >= 0) { p.set("sort", String(sortCol)); p.set("dir", sortDir > 0 ? "asc" : "desc"); }
    var hash = p.toString();
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); }
    catch (e) { /* some file:// contexts refuse: the view still works */ }
  }
  function load() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    q.value = p.get("q") || "";
    var s = p.get("status") || "";
    status.value = Array.prototype.some.call(status.options, function (o) { return o.value === s; }) ? s : "";
    problems.checked = p.get("problems") === "1";
    var col = parseInt(p.get("sort") || "", 10);
    if (col >= 0 && col < heads.length && heads[col].querySelector("button")) {
      sort(col, p.get("dir") === "desc" ? -1 : 1);
    }
    filter();
  }
  heads.forEach(function (th, i) {
    var b = th.querySelector("button");
    if (b) {
      b.addEventListener("click", function () {
        sort(i, sortCol === i ? -sortDir : 1);
        filter();
        save();
      });
    }
  });
  [q, status, problems].forEach(function (el) {
    el.addEventListener("input", function () { filter(); save(); });
    el.addEventListener("change", function () { filter(); save(); });
  });
  if (all) { all.addEventListener("click", function () { limit = Infinity; place(); }); }
  window.addEventListener("beforeprint", function () { limit = Infinity; place(); });
  window.addEventListener("hashchange", load);
  load();
  document.documentElement.setAttribute("data-ready", "1");
}());
""".strip()


# On a phone each cell says what it is (rows become cards): one rule per column, not an attribute per cell.
_CSS = _CSS.replace("__LABELS__", "".join(f'#docs td:nth-child({i})::before{{content:"{name}: "}}'
                                          for i, name in enumerate(_COLUMNS, 1) if name != "Status"))


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


#: The page's Content-Security-Policy: nothing may be loaded; only our own style and script run.
CSP = (f"default-src 'none'; style-src {_sha256_source(_CSS)}; script-src {_sha256_source(_JS)}; "
       "img-src data:; base-uri 'none'; form-action 'none'")


#: Rows in the table when the page opens; the others are shown by filtering or "show every…".
PAGE = 200


def render(report: Report, *, color: bool = False, width: int | None = None, fail_on: str = "error",
           archive: str | os.PathLike[str] | None = None, output: str | os.PathLike[str] | None = None) -> str:
    """The status page as one HTML document, ending with a newline (see :func:`write`)."""
    import io

    stream = io.StringIO()
    write(report, stream, archive=archive, output=output)
    return stream.getvalue()


def write(report: Report, stream: IO[str], *, archive: str | os.PathLike[str] | None = None,
          output: str | os.PathLike[str] | None = None) -> None:
    """Write the status page to ``stream`` a row at a time (memory stays flat at any size).

    Heading: the manifests' title when they have one. Rows come problems first (errors, warnings,
    never checked, the rest). `archive` (the archive folder) enables links to archived copies;
    their hrefs are relative to the folder of `output` (the file the page is written to; None:
    the current directory).
    """
    base = Path(output).absolute().parent if output is not None else Path.cwd()
    heading = clean(report.title) or f"linkwatch {clean(report.command)}"
    title = f"{heading}: {clean(report.summary_line())}"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_a(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="linkwatch">',
        '<link rel="icon" href="data:,">',
        f"<title>{_t(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_worst_badge(report)} {_t(heading)}</h1>",
        f'<p class="facts">{_facts(report)}</p>',
        "</header>",
        _summary(report),
        _legend(report),
        _controls(report),
        '<table id="docs">',
        "<thead><tr>" + "".join(_th(name) for name in _COLUMNS) + "</tr></thead>",
        "<tbody>",
    ]
    stream.write("\n".join(head) + "\n")
    n = 0
    for n, doc in enumerate(problems_first(report.documents), 1):
        if n == PAGE + 1:  # the rest wait in a template (see _JS): parsed, never laid out until shown
            stream.write('</tbody>\n</table>\n<template id="more">\n')
        stream.write(_row(doc, archive, base) + "\n")
    more = n > PAGE
    tail = [
        "</template>" if more else "</tbody>\n</table>",
        f'<p><button type="button" id="all" hidden>Show every matching document</button></p>' if more else "",
        "" if report.documents else '<p class="muted">No documents.</p>',
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
    ]
    stream.write("\n".join(p for p in tail if p) + "\n")


def _legend(report: Report) -> str:
    """What every status and every finding kind means (collapsed; statuses of this report first)."""
    statuses = "".join(f'<dt><span class="badge t-{_tone(s)}">{_t(s)}</span></dt><dd>{_t(m)}</dd>'
                       for s, m in STATUS_MEANING.items())
    findings = "".join(f"<dt><code>{_t(k)}</code></dt><dd>{_t(m)}</dd>" for k, m in FINDING_MEANING.items())
    severities = ('<dt><strong class="sev-error">error</strong></dt><dd>fails the run at --fail-on error</dd>'
                  '<dt><strong class="sev-warning">warning</strong></dt><dd>fails it at --fail-on warning</dd>'
                  '<dt><strong class="sev-info">info</strong></dt><dd>for the record</dd>')
    return ('<details class="legend"><summary>What the statuses and findings mean</summary>'
            f"<h2>Status (the document now)</h2><dl>{statuses}</dl>"
            f"<h2>Findings (besides the status: drift since the last check, and more)</h2><dl>{findings}</dl>"
            f"<h2>Severity</h2><dl>{severities}</dl></details>")


# -- escaping -----------------------------------------------------------------------------------
def _t(text: object) -> str:
    """Untrusted text for element content: one clean line, HTML-escaped."""
    return escape(clean(None if text is None else str(text)), quote=False)


def _a(text: object) -> str:
    """Untrusted text for a double-quoted attribute value."""
    return escape(clean(None if text is None else str(text)), quote=True)


def _tone(status: str) -> str:
    return _TONE.get(status, "none")


def _sev(severity: str | None) -> str:
    return severity if severity in SEVERITIES else "none"


# -- header and summary --------------------------------------------------------------------------
def _worst_badge(report: Report) -> str:
    worst = report.worst_severity()
    if worst == "error":
        return '<span class="badge t-bad">errors</span>'
    if worst == "warning":
        return '<span class="badge t-warn">warnings</span>'
    return '<span class="badge t-good">all good</span>'


def _facts(report: Report) -> str:
    run = f"run {_t(report.run_id)} · " if report.run_id is not None else ""
    manifests = ", ".join(f"<code>{_t(m)}</code>" for m in report.manifests) or "none"
    return (f"{run}{_time(report.started_at)} → {_time(report.finished_at)} · linkwatch "
            f"{_t(report.tool_version)} · manifests: {manifests}")


def _summary(report: Report) -> str:
    counts = report.counts()
    total = counts["documents"]
    items = []
    for status, n in counts["by_status"].items():
        tone = _tone(status)
        items.append(f'<li class="st{" zero" if not n else ""}" data-status="{_a(status)}"><span class="n">{n}</span>'
                     f'<span class="badge t-{tone}">{_t(status)}</span></li>')
    for severity in reversed(SEVERITIES):
        n = counts["by_severity"].get(severity, 0)
        label = severity if severity == "info" or n == 1 else severity + "s"
        items.append(f'<li class="sv{" zero" if not n else ""}" data-severity="{severity}"><span class="n">{n}</span>'
                     f'<span class="sev-{severity}">{label}</span></li>')
    return "\n".join([
        '<section aria-label="Summary">',
        f'<p><strong>{_t(report.summary_line())}</strong></p>',
        '<ul class="summary">', *items, "</ul>",
        _bar(counts["by_status"], total),
        "</section>",
    ])


def _bar(by_status: dict[str, int], total: int) -> str:
    """A stacked bar of documents per status (1000 units wide, stretched to the page)."""
    if not total:
        return ""
    x, rects = 0.0, []
    for status, n in by_status.items():
        if not n:
            continue
        w = 1000 * n / total
        rects.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="10" class="f-{_tone(status)}">'
                     f"<title>{_t(status)}: {n}</title></rect>")
        x += w
    label = ", ".join(f"{n} {s}" for s, n in by_status.items() if n)
    return (f'<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" '
            f'aria-label="documents by status: {_a(label)}">{"".join(rects)}</svg>')


def _controls(report: Report) -> str:
    options = "".join(f'<option value="{_a(s)}">{_t(s)}</option>' for s, n in report.counts()["by_status"].items()
                      if n)
    n = len(report.documents)
    return "\n".join([
        '<section class="controls" aria-label="Filter">',
        '<label>Find <input type="search" id="q" placeholder="id, symbol, title, finding…"></label>',
        f'<label>Status <select id="status"><option value="">all</option>{options}</select></label>',
        '<label><input type="checkbox" id="problems"> only problems (warnings and errors)</label>',
        f'<output id="shown" aria-live="polite">{n} document{"s" if n != 1 else ""}</output>',
        "</section>",
    ])


def _th(name: str) -> str:
    if name in _SORTABLE:
        return f'<th scope="col" aria-sort="none"><button type="button">{name}</button></th>'
    return f'<th scope="col" class="nosort">{name}</th>'


# -- one document ------------------------------------------------------------------------------------
def _row(doc: DocumentResult, archive: str | os.PathLike[str] | None, base: Path) -> str:
    problem = severity_rank(doc.worst_severity()) >= severity_rank("warning")
    status_rank = _STATUS_ORDER.index(doc.status) if doc.status in _STATUS_ORDER else len(_STATUS_ORDER)
    changed_at, changed_what = last_change(doc)
    cells = [
        _td("Status", f'<span class="badge t-{_tone(doc.status)}">{_t(doc.status)}</span>', f"{status_rank}"),
        _td("Document", f'<code>{_t(doc.id)}</code><br><small title="{_a(doc.manifest)}">'
                        f"{_t(PurePosixPath(clean(doc.manifest).replace(chr(92), '/')).name)}:{_t(doc.line)}</small>",
            None),
        _td("Symbol", _symbol(doc), clean(doc.symbol).lower(), cls="sym"),
        _td("Title", _title(doc) + _findings(doc), cls="title"),
        _td("Lang", _t(doc.lang) if doc.lang else '<span class="muted">—</span>', clean(doc.lang).lower()),
        _td("Last change", _change(changed_at, changed_what), changed_at or ""),
        _td("Availability", _timeline(doc)),
        _td("Links", _links(doc, archive, base), cls="links"),
    ]
    return (f'<tr data-status="{_a(doc.status)}" data-severity="{_sev(doc.worst_severity())}" '
            f'data-problem="{int(problem)}">' + "".join(cells) + "</tr>")


def _td(label: str, inner: str, sort_key: str | None = None, cls: str | None = None) -> str:
    attrs = ""
    if cls:
        attrs += f' class="{cls}"'
    if sort_key is not None:
        attrs += f' data-v="{_a(sort_key)}"'
    return f"<td{attrs}>{inner}</td>"


def _symbol(doc: DocumentResult) -> str:
    if not doc.found_symbol:
        return f'<span class="cited" title="cited; none read on page 1">{_sym(doc.expected_symbol)}</span>' \
            if doc.expected_symbol else '<span class="muted">—</span>'
    shown = _sym(doc.found_symbol)
    if doc.expected_symbol and doc.status == "wrong-document":
        shown += f'<br><small>cited: {_t(doc.expected_symbol)}</small>'
    return shown


def _sym(symbol: str) -> str:
    """A symbol, breakable only after the dash of a joint symbol (A/79/62–<wbr>E/2024/3)."""
    return _t(symbol).replace("–", "–<wbr>")


def _title(doc: DocumentResult) -> str:
    if doc.title:
        return _t(doc.title)
    if doc.expected_title:
        return f'<span class="cited" title="cited; none read on page 1">{_t(doc.expected_title)}</span>'
    return '<span class="muted">—</span>'


def _findings(doc: DocumentResult) -> str:
    """Every finding in words: severity, kind, message."""
    if not doc.findings:
        return ""
    items = [f'<li class="sev-{_sev(f.severity)}"><strong>{_t(f.severity)}</strong> <code>{_t(f.kind)}</code>: '
             f"{_t(f.message)}</li>" for f in doc.findings]
    return '<ul class="findings">' + "".join(items) + "</ul>"


def last_change(doc: DocumentResult) -> tuple[str | None, str]:
    """When the document last changed, and how, as far as the report tells.

    Drift found by this check is a change now; otherwise the newest status change in the
    timeline; otherwise nothing changed during the timeline (None, "none since <first>").
    """
    drift = [f.kind for f in doc.findings if f.kind in DRIFTS]
    if drift and doc.checked_at:
        return doc.checked_at, ", ".join(dict.fromkeys(drift))
    marks = _marks(doc)
    for before, after in zip(reversed(marks[:-1]), reversed(marks[1:])):
        if before.get("status") != after.get("status"):
            return after.get("at"), f"{before.get('status')} → {after.get('status')}"
    if len(marks) > 1:
        return None, f"unchanged in {len(marks)} checks since {_date(marks[0].get('at'))}"
    return None, "first check"


def _change(at: str | None, what: str) -> str:
    if at is None:
        return f'<span class="muted">{_t(what)}</span>'
    return f"{_time(at, date_only=True)}<br><small>{_t(what)}</small>"


def _marks(doc: DocumentResult) -> list[dict[str, str]]:
    marks = [m for m in doc.timeline if isinstance(m, dict)]
    if not marks and doc.checked_at:
        marks = [{"at": doc.checked_at, "status": doc.status}]
    return marks


_MARK_W, _MARK_GAP, _MARK_H = 5, 2, 18


def _timeline(doc: DocumentResult) -> str:
    """One mark per observation, oldest left, coloured by status. A run of marks of one colour is
    one dashed line (a 10,000-document page cannot afford an element per mark); the strip's title
    says when each status change happened."""
    marks = _marks(doc)
    if not marks:
        return '<span class="muted">—</span>'
    step = _MARK_W + _MARK_GAP
    width = len(marks) * step - _MARK_GAP
    runs: dict[str, list[str]] = {}
    start = 0
    for i, m in enumerate(marks):
        tone = _tone(str(m.get("status", "")))
        if i + 1 == len(marks) or _tone(str(marks[i + 1].get("status", ""))) != tone:
            runs.setdefault(tone, []).append(f"M{start * step} {_MARK_H // 2}h{(i + 1 - start) * step - _MARK_GAP}")
            start = i + 1
    ok = sum(1 for m in marks if m.get("status") == "ok")
    label = f"availability over the last {len(marks)} checks: {ok} ok, {len(marks) - ok} not ok"
    changes = [f"{_human_time(m.get('at'))}: {m.get('status', '')}" for i, m in enumerate(marks)
               if i == 0 or m.get("status") != marks[i - 1].get("status")]
    drawn = "".join(f'<path class="s-{tone}" d="{"".join(d)}"/>' for tone, d in runs.items())
    # The title is the strip's accessible name too; the height comes from CSS, the width from the viewBox.
    return (f'<svg class="tl" viewBox="0 0 {width} {_MARK_H}"><title>{_t(label + ". " + "; ".join(changes))}</title>'
            f"{drawn}</svg><small>{ok}/{len(marks)} ok</small>")


def _links(doc: DocumentResult, archive: str | os.PathLike[str] | None, base: Path) -> str:
    links = []
    archived = archived_href(doc, archive, base)
    url = clean(doc.url)
    if re.match(r"(?i)https?://", url):
        robust = ""
        if archived:
            robust = f' data-versionurl="{_a(archived)}"'
            if doc.archived_at:
                robust += f' data-versiondate="{_a(doc.archived_at)}"'
        links.append(f'<a class="orig" href="{_a(url)}" rel="nofollow"{robust}>original</a>')
    elif url:
        links.append(f"<code>{_t(url)}</code>")
    if doc.final_url and clean(doc.final_url) != url and re.match(r"(?i)https?://", clean(doc.final_url)):
        links.append(f'<a href="{_a(doc.final_url)}" rel="nofollow">final URL</a>')
    if archived:
        name = _SAFE_NAME.sub("_", clean(doc.id)) or "document"
        suffix = ".pdf" if doc.kind == "pdf" else ".html"
        when = f"<br><small>kept {_t(_date(doc.archived_at))}</small>" if doc.archived_at else ""
        links.append(f'<a class="kept" href="{_a(archived)}" download="{_a(name + suffix)}">archived copy</a>{when}')
    elif doc.archived_sha256:
        links.append(f'<small>archived {_t((doc.archived_sha256 or "")[:12])}…</small>')
    return "<br>".join(links) or '<span class="muted">—</span>'


def archived_href(doc: DocumentResult, archive: str | os.PathLike[str] | None, base: Path) -> str | None:
    """The archived copy's URL relative to the page's folder `base`, or None when unknown."""
    stored = (doc.archived_path or "").replace("\\", "/")  # written on Windows: backslashes
    if archive is None or not _BLOB_PATH.fullmatch(stored):
        return None  # absent, or not a blob path (a report file could say anything)
    target = (Path(archive) / stored).absolute()
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows): no relative path exists
        return target.as_uri()
    return quote(Path(rel).as_posix())


# -- dates --------------------------------------------------------------------------------------------
def _human_time(at: object) -> str:
    """`2025-06-01T02:00:00Z` → `2025-06-01 02:00 UTC`; anything else shown as it is."""
    text = clean(None if at is None else str(at))
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|\+00:00)?", text)
    return f"{m.group(1)} {m.group(2)} UTC" if m else text


def _date(at: object) -> str:
    return _human_time(at)[:10]


def _time(at: object, date_only: bool = False) -> str:
    human = _human_time(at)
    return f'<time datetime="{_a(at)}" title="{_a(human)}">{_t(human[:10] if date_only else human)}</time>'
