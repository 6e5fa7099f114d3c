"""The ``linkwatch`` command: a thin shell over :mod:`linkwatch.api`.

Exit codes (a contract scripts rely on): 0 nothing at or above ``--fail-on``; 1 findings at or
above it; 2 bad usage or a bad manifest; 3 the run itself failed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from . import __version__, api
from .versions import NoVersions, VersionDiff
from .formats import FORMATS, render
from .formats._text import clean
from .index import Event
from .timeline import Entry, UnknownDocument
from .manifest import Document, ManifestError
from .report import Report
from .run import RunFailed

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except ManifestError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except (UnknownDocument, NoVersions) as exc:
        _error(str(exc.args[0]) if exc.args else str(exc))
        return EXIT_USAGE
    except RunFailed as exc:
        _error(str(exc))
        return EXIT_FAILED
    except OSError as exc:  # output file not writable, disk full while writing a report…
        _error(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkwatch", description="Check that cited documents are still reachable and still the documents cited.")
    parser.add_argument("--version", action="version", version=f"linkwatch {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    archive_opt = argparse.ArgumentParser(add_help=False)
    archive_opt.add_argument("--archive", metavar="DIR", default=os.environ.get("LINKWATCH_ARCHIVE", "archive"),
                             help="archive folder (index + blobs); default ./archive or $LINKWATCH_ARCHIVE")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=FORMATS, default="table", help="report format (default table)")
    output.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    output.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                        help="exit 1 when a finding is at or above this severity (default error)")
    output.add_argument("--quiet", action="store_true", help="table/markdown: list only documents with findings")
    fetching = argparse.ArgumentParser(add_help=False)
    fetching.add_argument("--concurrency", type=_positive_int, default=8, metavar="N", help="documents in flight (default 8)")
    fetching.add_argument("--per-host", type=_positive_int, default=2, metavar="N", help="requests in flight per host (default 2)")
    fetching.add_argument("--min-interval", type=_non_negative, default=0.2, metavar="S",
                          help="seconds between request starts to one host (default 0.2)")
    fetching.add_argument("--timeout", type=_positive_float, default=30.0, metavar="S", help="connect/read timeout (default 30)")
    fetching.add_argument("--retries", type=_non_negative_int, default=3, metavar="N", help="retries after the first try (default 3)")
    fetching.add_argument("--max-size", type=_positive_int, default=512 * 1024**2, metavar="BYTES",
                          help="largest body accepted (default 512 MiB)")
    fetching.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when stderr is not a terminal)")

    for name, help_text in (("check", "fetch, verify, compare and record observations (no bytes kept)"),
                            ("archive", "the same, and keep every new version's bytes")):
        p = sub.add_parser(name, parents=[archive_opt, output, fetching], help=help_text, description=help_text)
        p.add_argument("manifests", nargs="+", metavar="MANIFEST")
        p.set_defaults(handler=_run_command(name))

    p = sub.add_parser("status", parents=[archive_opt, output], help="latest known state from the index, no network")
    p.add_argument("manifests", nargs="*", metavar="MANIFEST")
    p.set_defaults(handler=_status)

    p = sub.add_parser("history", parents=[archive_opt], help="every observation of one document")
    p.add_argument("document", metavar="DOCUMENT", help="document id or symbol")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=_history)

    p = sub.add_parser("verify", parents=[archive_opt], help="re-hash every stored snapshot against the index (fixity)")
    p.add_argument("--sample", type=_percent, metavar="N", help="check a random N%% of the snapshots (large archives)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=_verify)

    p = sub.add_parser("diff", parents=[archive_opt], help="what changed between two archived versions")
    p.add_argument("document", metavar="DOCUMENT", help="document id or symbol")
    p.add_argument("--from", dest="old", metavar="SHA256", help="older version (sha256 prefix); default the one before --to")
    p.add_argument("--to", dest="new", metavar="SHA256", help="newer version (sha256 prefix); default the latest")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_diff)

    p = sub.add_parser("inspect", help="symbols, title, language and pages of local PDFs (no network)")
    p.add_argument("files", nargs="+", metavar="FILE.pdf")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--timeout", type=_positive_float, default=60.0, metavar="S", help="per-file limit (default 60)")
    p.set_defaults(handler=_inspect)
    return parser


# -- commands ----------------------------------------------------------------------------------
def _run_command(command: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        run = api.archive if command == "archive" else api.check
        report = run(args.manifests, archive=args.archive, concurrency=args.concurrency, per_host=args.per_host,
                     min_interval=args.min_interval, timeout=args.timeout, retries=args.retries,
                     max_size=args.max_size, progress=not args.no_progress)
        return _emit(report, args)
    return handler


def _status(args: argparse.Namespace) -> int:
    return _emit(api.status(args.manifests or None, archive=args.archive), args)


def _emit(report: Report, args: argparse.Namespace) -> int:
    shown = _only_problems(report) if args.quiet and args.format in ("table", "markdown") else report
    to_terminal = args.output is None and sys.stdout.isatty()
    text = render(shown, args.format, color=to_terminal and not os.environ.get("NO_COLOR"),
                  width=_width() if to_terminal else None, fail_on=args.fail_on)
    _write(text, args.output)
    return report.exit_code(args.fail_on)


def _only_problems(report: Report) -> Report:
    from dataclasses import replace

    return replace(report, documents=[d for d in report.documents if d.findings])


def _history(args: argparse.Namespace) -> int:
    doc, entries = api.history(args.document, archive=args.archive)
    events = api.events(doc.id, archive=args.archive)
    if args.format == "json":
        data = {**_history_json(doc, entries), "events": [asdict(e) for e in events]}
        _write(json.dumps(data, indent=2, ensure_ascii=False), None)
    else:
        _write(_history_table(doc, entries) + _events_table(events), None)
    return EXIT_OK


def _events_table(events: list[Event]) -> str:
    """Preservation events (ingest, fixity checks, exports) under the observations."""
    if not events:
        return ""
    rows = [[e.at.replace("T", " ").rstrip("Z"), e.kind, e.outcome, e.detail] for e in events]
    return "\n\nPreservation events\n" + _table(["when (UTC)", "event", "outcome", "detail"], rows)


def _verify(args: argparse.Namespace) -> int:
    result = api.verify(archive=args.archive, sample_percent=args.sample)
    if args.format == "json":
        _write(json.dumps({"checked": result.checked, "total": result.total, "sample_percent": result.sample_percent,
                           "problems": [asdict(p) for p in result.problems]}, indent=2), None)
    else:
        scope = f"{result.checked} of {result.total} snapshots" if args.sample else f"{result.checked} snapshots"
        lines = [f"{p.kind}: {p.detail}" for p in result.problems]
        lines.append(f"verified {scope}: " + ("all match (sha256 and sha512)" if result.ok
                                             else f"{len(result.problems)} problem(s)"))
        _write("\n".join(lines), None)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _diff(args: argparse.Namespace) -> int:
    result = api.diff(args.document, args.old, args.new, archive=args.archive)
    if args.format == "json":
        _write(json.dumps(_diff_json(result), indent=2, ensure_ascii=False), None)
    else:
        _write(_diff_text(result), None)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        _error(f"no such file: {', '.join(missing)}")
        return EXIT_USAGE
    results = api.inspect_files(args.files, timeout=args.timeout)
    rows = [{"file": f, **_inspection_dict(i)} for f, i in results]
    if args.format == "json":
        _write(json.dumps(rows, indent=2, ensure_ascii=False), None)
    else:
        _write(_table(["file", "symbols", "lang", "pages", "title / error"],
                      [[r["file"], " – ".join(r["symbols"]) or ("(placeholder)" if r["placeholder"] else "—"),
                        r["lang"] or "—", str(r["pages"] or "—"), r["error"] or r["title"] or "—"] for r in rows]), None)
    return EXIT_FINDINGS if any(r["error"] for r in rows) else EXIT_OK


# -- rendering helpers for the look-back commands ------------------------------------------------
def _inspection_dict(ins: object) -> dict[str, object]:
    d = asdict(ins)  # type: ignore[call-overload]
    return {k: d.get(k) for k in ("symbols", "title", "lang", "pages", "placeholder", "reissued", "error")}


def _history_json(doc: Document, entries: list[Entry]) -> dict[str, object]:
    return {"id": doc.id, "symbols": list(doc.symbols), "observations": [
        {"observed_at": e.observation.observed_at, "status": e.observation.status, "url": e.observation.url,
         "http_status": e.observation.http_status, "final_url": e.observation.final_url,
         "sha256": e.observation.sha256, "size": e.observation.size, "not_modified": e.observation.not_modified,
         "archived": e.observation.archived,
         "title": e.observation.inspection.title if e.observation.inspection else None,
         "findings": [asdict(f) for f in e.findings]} for e in entries]}


def _history_table(doc: Document, entries: list[Entry]) -> str:
    rows = []
    for e in entries:
        o = e.observation
        what = ", ".join(f.kind for f in e.findings) or ("unchanged (304)" if o.not_modified else "")
        rows.append([o.observed_at.replace("T", " ").rstrip("Z"), o.status or "", str(o.http_status or "—"),
                     (o.sha256 or "—")[:12], _human_size(o.size), "yes" if o.archived else "", what])
    title = f"{doc.id}  {doc.display_symbol}  {doc.url}"
    return title + "\n" + _table(["observed (UTC)", "status", "HTTP", "sha256", "size", "kept", "findings"], rows)


def _diff_json(d: VersionDiff) -> dict[str, object]:
    return {"id": d.document.id, "old": {"sha256": d.old.sha256, "observed_at": d.old.observed_at},
            "new": {"sha256": d.new.sha256, "observed_at": d.new.observed_at},
            "changes": [{"field": f, "old": a, "new": b} for f, a, b in d.changes], "text_diff": d.text}


def _diff_text(d: VersionDiff) -> str:
    lines = [f"{d.document.id}: {(d.old.sha256 or '')[:12]} ({d.old.observed_at}) → "
             f"{(d.new.sha256 or '')[:12]} ({d.new.observed_at})"]
    lines += [f"  {name}: {old!r} → {new!r}" for name, old, new in d.changes] or ["  no metadata changes"]
    lines += ["", *d.text] if d.text else ["", "extracted text is identical"]
    return "\n".join(lines)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    import io

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(*headers, box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(escape(clean(c)) for c in row))
    out = io.StringIO()
    Console(file=out, width=_width(), color_system=None).print(table)
    return out.getvalue().rstrip("\n")


def _human_size(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _width() -> int:
    try:
        return max(60, os.get_terminal_size(sys.stdout.fileno()).columns)
    except OSError:
        return 100


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a report


def _error(message: str) -> None:
    print(f"linkwatch: error: {message}", file=sys.stderr)


def _percent(text: str) -> float:
    value = float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("must be a percentage in (0, 100]")
    return value


def _number(cast: Callable[[str], float], minimum: float, *, strict: bool = False) -> Callable[[str], float]:
    """An argparse type: a number of ``cast`` at least (or, ``strict``, more than) ``minimum``."""
    def parse(text: str) -> float:
        value = cast(text)
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {'more than' if strict else 'at least'} {minimum:g}")
        return value
    parse.__name__ = cast.__name__  # argparse names the type in "invalid int value" messages
    return parse


_positive_int = _number(int, 1)
_non_negative_int = _number(int, 0)
_positive_float = _number(float, 0, strict=True)
_non_negative = _number(float, 0)


if __name__ == "__main__":
    sys.exit(main())
