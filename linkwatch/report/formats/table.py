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

from ..model import DocumentResult, Report, concern, problems_first
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
    "unchecked": "bold reverse",  # never observed: no verdict, no colour of one
}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error", problems_only: bool = False) -> str:
    """The table and summary line as a string (ANSI colours only when `color`).

    Rows come problems first (errors, warnings, never checked, then the rest; manifest order
    within each); `problems_only` (``--quiet``) lists only documents with a warning or an error,
    and the summary line still counts every document."""
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
    shown = [d for d in problems_first(report.documents) if not problems_only or concern(d) <= 1]
    if shown:
        console.print(_table(shown, console.width))
        if any(_differs(d) for d in shown):
            console.print(Text(f"{_DIFFERS} the symbol read on page 1 is not the one cited", style="dim"))
    elif not report.documents:
        console.print(Text("No documents."))
    for line in _problems(shown):
        console.print(line)
    if report.command == "status" and report.documents:
        console.print(_as_of(report))
    console.print(_summary(report, console.width))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    # rich pads every cell to the column width; trailing blanks only get in the way of diffs.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


# Column caps (characters) before the title gets the rest, and the floors they shrink to.
# The status and drift words never shrink: they are the point of the table (several drift kinds
# wrap onto more lines instead, a kind never breaks). An id is shortened in the middle, so two ids
# that share a long prefix still differ on screen.
_CAPS = {"status": 16, "id": 24, "symbol": 26, "drift": 24}
_FLOORS = {"status": 16, "id": 12, "symbol": 16, "drift": 0}  # 16: "A/79/62–E/2024/3"
_DIFFERS = "≠"  # marks a symbol read on page 1 that is not the cited one
_TITLE_MIN = 20
_TITLE_SHARE = 0.4  # of the line, when the titles are that long
_GUTTER = 3  # between two columns: rich's padding (1 + 1) and box.SIMPLE_HEAD's blank divider


def _table(documents: list[DocumentResult], width: int) -> Table:
    """One row per document; symbol and title truncate with an ellipsis, the id in its middle, and
    several drift kinds wrap (one kind never breaks).

    Widths are computed here rather than left to rich's collapsing, which drops whole columns
    when a table is too wide: status and drift must never disappear.
    """
    rows = [(_badge(d), Text(clean(d.id)), _symbol(d), _title(d), _drift(d)) for d in documents]
    # The longest kind and its comma fit on one line: kinds wrap between each other, never inside.
    floors = dict(_FLOORS, drift=max([5] + [len(k) + 1 for d in documents for k in d.drift]))
    widths = _widths(rows, width, floors)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in ("status", "id", "symbol", "title", "drift"):
        table.add_column(name, no_wrap=name != "drift", overflow="fold" if name == "drift" else "ellipsis",
                         width=widths[name])
    for status, ident, symbol, title, drift in rows:
        table.add_row(status, _middle(ident, widths["id"]), symbol, title, drift)
    return table


def _middle(text: Text, width: int) -> Text:
    """``text`` shortened in its middle to ``width`` cells: ``commission-…-2024-b``."""
    plain = text.plain
    if len(plain) <= width or width < 5:
        return text
    head = (width - 1) // 2
    return Text(plain[:head] + "…" + plain[len(plain) - (width - 1 - head):])


def _widths(rows: list[tuple[Text, ...]], width: int, floors: dict[str, int] = _FLOORS) -> dict[str, int]:
    """Share `width` between the columns.

    status/id/symbol/drift start at their natural width up to a cap; the title wants
    `_TITLE_SHARE` of the line (at least `_TITLE_MIN`). When it would get less, the others shrink
    (widest first) down to their floors; space left over after the title is served goes back
    to capped columns (drift first) up to their natural width.
    """
    names = ("status", "id", "symbol", "title", "drift")
    natural = {n: max([len(n)] + [r[i].cell_len for r in rows]) for i, n in enumerate(names)}
    widths = {n: max(min(natural[n], _CAPS[n]), min(floors[n], natural[n])) for n in _CAPS}
    budget = width - _GUTTER * (len(names) - 1)
    title_want = min(natural["title"], max(_TITLE_MIN, int(budget * _TITLE_SHARE)))
    while budget - sum(widths.values()) < title_want:
        shrinkable = [n for n in widths if widths[n] > min(floors[n], natural[n])]
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
    """Found symbol, marked ``≠`` when it is not the cited one; the cited one, dimmed, when none
    was read from the document."""
    if doc.found_symbol:
        if _differs(doc):
            return Text(_DIFFERS + clean(doc.found_symbol), style="bold")
        return Text(clean(doc.found_symbol))
    return Text(clean(doc.expected_symbol), style="dim")


def _differs(doc: DocumentResult) -> bool:
    """Page 1 shows symbols, and a cited one is not among them."""
    if not doc.symbols or not doc.expected_symbols:
        return False
    from ...un.symbols import same

    return not all(any(same(cited, found) for found in doc.symbols) for cited in doc.expected_symbols)


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


def _problems(documents: list[DocumentResult]) -> list[Text]:
    """Why each failing document fails: the table says *what*, these lines say *why*."""
    lines = []
    for doc in documents:
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
