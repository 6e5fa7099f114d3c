"""Table format: a terminal status table (rich), then a one-line summary.

Cells are built as `rich.text.Text` objects, never as markup strings: rich then neither parses
"[bold]" nor ":emoji:" codes in stranger-supplied titles, which is stronger than
`rich.markup.escape` (and shows the text exactly). Control characters and ANSI escapes are
stripped first (`_text.clean`) because Text would otherwise pass them through to the terminal.
"""
from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..model import DocumentResult, Report
from ._text import clean

# Badge styles: red = the citation is failing, yellow = cannot tell / may recover, green = fine.
_STATUS_STYLE = {
    "ok": "bold black on green",
    "broken": "bold white on red",
    "wrong-document": "bold white on red",
    "wrong-type": "bold white on red",
    "unreachable": "bold black on yellow",
    "blocked": "bold black on yellow",
    "unverified": "bold black on yellow",
}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error") -> str:
    """The table and summary line as a string (ANSI colours only when `color`)."""
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system="auto" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,  # rich would otherwise colour numbers and URLs inside titles
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    if report.documents:
        console.print(_table(report, console.width))
    else:
        console.print(Text("No documents."))
    for line in _problems(report):
        console.print(line)
    if report.command == "status" and report.documents:
        console.print(_as_of(report))
    console.print(_summary(report, console.width))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    # rich pads every cell to the column width; trailing blanks only get in the way of diffs.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


# Column caps (characters) before the title gets the rest, and the floors they shrink to.
# The status never shrinks: it is the point of the table.
_CAPS = {"status": 14, "id": 24, "symbol": 26, "drift": 24}
_FLOORS = {"status": 14, "id": 12, "symbol": 16, "drift": 8}  # 16: "A/79/62–E/2024/3"
_TITLE_MIN = 20
_TITLE_SHARE = 0.4  # of the line, when the titles are that long
_GUTTER = 3  # between two columns: rich's padding (1 + 1) and box.SIMPLE_HEAD's blank divider


def _table(report: Report, width: int) -> Table:
    """One row per document; every column truncates with an ellipsis instead of wrapping.

    Widths are computed here rather than left to rich's collapsing, which drops whole columns
    when a table is too wide: status and drift must never disappear.
    """
    rows = [(_badge(d), Text(clean(d.id)), _symbol(d), _title(d), _drift(d)) for d in report.documents]
    widths = _widths(rows, width)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in ("status", "id", "symbol", "title", "drift"):
        table.add_column(name, no_wrap=True, overflow="ellipsis", width=widths[name])
    for row in rows:
        table.add_row(*row)
    return table


def _widths(rows: list[tuple[Text, ...]], width: int) -> dict[str, int]:
    """Share `width` between the columns.

    status/id/symbol/drift start at their natural width up to a cap; the title wants
    `_TITLE_SHARE` of the line (at least `_TITLE_MIN`). When it would get less, the others shrink
    (widest first) down to their floors; space left over after the title is served goes back
    to capped columns (drift first) up to their natural width.
    """
    names = ("status", "id", "symbol", "title", "drift")
    natural = {n: max([len(n)] + [r[i].cell_len for r in rows]) for i, n in enumerate(names)}
    widths = {n: min(natural[n], _CAPS[n]) for n in _CAPS}
    budget = width - _GUTTER * (len(names) - 1)
    title_want = min(natural["title"], max(_TITLE_MIN, int(budget * _TITLE_SHARE)))
    while budget - sum(widths.values()) < title_want:
        shrinkable = [n for n in widths if widths[n] > min(_FLOORS[n], natural[n])]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda n: widths[n])
        widths[widest] -= 1
    widths["title"] = max(1, min(natural["title"], budget - sum(widths.values())))
    spare = budget - sum(widths.values())
    for name in ("drift", "id", "symbol"):
        extra = min(spare, natural[name] - widths[name])
        if extra > 0:
            widths[name] += extra
            spare -= extra
    return widths


def _badge(doc: DocumentResult) -> Text:
    """Status as a coloured badge (plain word without colour)."""
    return Text(clean(doc.status), style=_STATUS_STYLE.get(doc.status, "bold reverse"))


def _symbol(doc: DocumentResult) -> Text:
    """Found symbol; the cited one, dimmed, when none was read from the document."""
    if doc.found_symbol:
        return Text(clean(doc.found_symbol))
    return Text(clean(doc.expected_symbol), style="dim")


def _title(doc: DocumentResult) -> Text:
    """Found title; the cited one, dimmed, when none was read."""
    if doc.title:
        return Text(clean(doc.title))
    return Text(clean(doc.expected_title), style="dim")


def _drift(doc: DocumentResult) -> Text:
    """Drift kinds, each coloured by its finding's severity."""
    text = Text()
    severity = {f.kind: f.severity for f in reversed(doc.findings)}  # first finding wins
    for i, kind in enumerate(doc.drift):
        if i:
            text.append(", ")
        text.append(clean(kind), style=_SEVERITY_STYLE.get(severity.get(kind, ""), ""))
    return text


def _problems(report: Report) -> list[Text]:
    """Why each failing document fails: the table says *what*, these lines say *why*."""
    lines = []
    for doc in report.documents:
        for f in doc.findings:
            if f.severity in ("error", "warning"):
                line = Text(f"{clean(doc.id)}: ")
                line.append(clean(f.kind), style=_SEVERITY_STYLE[f.severity])
                line.append(f": {clean(f.message)}")
                lines.append(line)
    return ([Text("")] + lines + [Text("")]) if lines else []


def _as_of(report: Report) -> Text:
    """`status` shows what the index knows: say from when (`checked 2025-06-01 03:17 UTC`)."""
    stamps = sorted(clean(d.checked_at) for d in report.documents if d.checked_at)
    if not stamps:
        return Text("never checked")
    def human(at: str) -> str:
        return at.replace("T", " ")[:16] + " UTC" if len(at) >= 16 and at[10] == "T" else at
    if human(stamps[0]) == human(stamps[-1]):
        return Text(f"checked {human(stamps[0])}")
    return Text(f"checked between {human(stamps[0])} and {human(stamps[-1])}")


def _summary(report: Report, width: int = 80) -> Text:
    """The one-line summary (plain: it is the line people paste into issues).

    Always one line: when every status would not fit `width`, the ones other than ok are
    summed up ("4 ok, 5 not ok"); the table above says which.
    """
    line = clean(report.summary_line())
    if len(line) <= width:
        return Text(line)
    counts = report.counts()
    n, ok = counts["documents"], counts["by_status"].get("ok", 0)
    severities = line.rsplit(" · ", 1)[-1]
    short = f"{n} document{'s' if n != 1 else ''}: {ok} ok, {n - ok} not ok · {severities}"
    return Text(short if len(short) <= width else short[: max(1, width - 1)] + "…")
