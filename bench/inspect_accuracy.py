"""Accuracy and speed of page-1 inspection against a ground-truth TSV.

    python bench/inspect_accuracy.py DIR TRUTH.tsv [--workers N] [--repeat R] [--engine auto|poppler|pypdf]

TRUTH.tsv has the columns of tests/fixtures/pdfs/MANIFEST.tsv: file, symbols_on_page1
(``;``-separated), lang, pages, bytes, sha256, title, note. Symbols are compared as sets after
:func:`linkwatch.un.symbols.normalise`; titles with :func:`linkwatch.pdf.inspect.title_key` (case,
quotes, dashes, spacing ignored), over the files that have an expected title. The engine is
linkwatch's default (poppler when pdftotext is installed) unless --engine says otherwise.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from linkwatch.un import symbols as unsymbols  # noqa: E402
from linkwatch.pdf.inspect import Inspection, Inspector, read_pdf, read_pdf_poppler, title_key  # noqa: E402


def _expected_symbols(cell: str) -> set[str]:
    return {unsymbols.normalise(s) for s in cell.split(";") if s.strip()}


def _judge(row: dict[str, str], got: Inspection) -> tuple[bool, bool, bool | None]:
    """(symbols right, language right, title right or None when no title is expected)."""
    sym_ok = set(got.symbols) == _expected_symbols(row["symbols_on_page1"])
    lang_ok = got.lang == (row["lang"] or None)
    title_ok = title_key(got.title or "") == title_key(row["title"]) if row["title"].strip() else None
    return sym_ok, lang_ok, title_ok


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "MISS")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("truth", type=Path)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over the files (default 3)")
    ap.add_argument("--engine", default=None, help="auto, poppler or pypdf (default: $LINKWATCH_INSPECT_ENGINE, "
                    "else auto)")
    args = ap.parse_args(argv)

    rows = list(csv.DictReader(args.truth.open(encoding="utf-8"), delimiter="\t"))
    rows = [r for r in rows if (args.dir / r["file"]).is_file()]
    if not rows:
        print("no files of the TSV found in", args.dir, file=sys.stderr)
        return 2

    with Inspector(workers=args.workers, engine=args.engine) as inspector:
        engine = inspector.engine
        t0 = time.perf_counter()
        inspector.inspect(args.dir / rows[0]["file"])  # spawns the worker
        cold = time.perf_counter() - t0
        sandboxed: dict[str, list[float]] = {r["file"]: [] for r in rows}
        results: dict[str, Inspection] = {}
        for _ in range(args.repeat):
            for r in rows:
                t0 = time.perf_counter()
                results[r["file"]] = inspector.inspect(args.dir / r["file"])
                sandboxed[r["file"]].append(time.perf_counter() - t0)
    in_process = []
    for r in rows:
        t0 = time.perf_counter()
        read_pdf_poppler(args.dir / r["file"]) if engine == "poppler" else read_pdf(args.dir / r["file"])
        in_process.append(time.perf_counter() - t0)

    print(f"{'file':34} {'symbols':8} {'lang':5} {'title':6} {'ms':>6}  found")
    tallies = {"symbols": [0, 0], "lang": [0, 0], "title": [0, 0]}
    for r in rows:
        got = results[r["file"]]
        verdicts = dict(zip(("symbols", "lang", "title"), _judge(r, got)))
        for name, ok in verdicts.items():
            if ok is not None:
                tallies[name][0] += ok
                tallies[name][1] += 1
        ms = 1000 * statistics.median(sandboxed[r["file"]])
        found = got.error or ("placeholder" if got.placeholder else " ".join(got.symbols) + f" [{got.lang}]")
        print(f"{r['file'][:34]:34} {_mark(verdicts['symbols']):8} {_mark(verdicts['lang']):5} "
              f"{_mark(verdicts['title']):6} {ms:6.1f}  {found}")
        if verdicts["title"] is False:
            print(f"{'':34}   title found: {got.title!r}")
    print()
    for name, (hit, n) in tallies.items():
        print(f"{name:8} {hit}/{n} = {100 * hit / n:.0f}%")
    all_sandboxed = [t for ts in sandboxed.values() for t in ts]
    per_file = [statistics.median(ts) for ts in sandboxed.values()]
    print(f"engine: {engine}")
    print(f"median over files of the per-file median: {1000 * statistics.median(per_file):.1f} ms in a worker")
    print(f"mean time per file: {1000 * statistics.mean(all_sandboxed):.1f} ms in a worker "
          f"({len(all_sandboxed)} calls), {1000 * statistics.mean(in_process):.1f} ms in-process; "
          f"first call incl. worker start {1000 * cold:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
