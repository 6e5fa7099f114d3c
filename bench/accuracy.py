"""Accuracy of page-1 inspection on the development corpus: own symbols, language, titles, both engines.

    python bench/accuracy.py [--corpus DIR] [--truth TSV] [--engine both|poppler|pypdf]
                             [--split dev|holdout|all] [--misses] [--markdown]

The truth (``bench/corpus/un-dev-truth.tsv``) was written by reading page 1 of each PDF of
``../shared/corpus/un-dev`` (pdftotext -layout, and a rendered PNG for scans), never from linkwatch's
output. Its columns: file, split (``dev``/``holdout``, fixed before any rule was written: the first 32
bits of sha256(file name) below 0.35 × 2³² → holdout), symbols (the document's own, as printed on
page 1, ``;``-separated, normalised; empty when page 1 prints none), lang, text (``clean``: a real
text layer; ``ocr``: a scan's OCR layer; ``image``: no text at all), title, alt_titles (``;;``-separated
other acceptable readings, where the layout leaves two defensible answers), note.

What counts as right (per file and engine):

- **own symbols**: the set of normalised symbols equals the truth's (joint symbols: every part). On
  an ``ocr``/``image`` file a *refusal* is also acceptable — no symbol, or the near-miss reported as
  ``unverified`` — but a confident wrong symbol never is. Target: ≥ 99.5 % of the files whose page 1
  prints a symbol.
- **language**: equal to the truth, over ``clean`` files (scans are scored apart).
- **title** (an *acceptable title*, :func:`linkwatch.pdf.reading.title_matches`): the title read
  has the same words as the truth or one of its alt_titles — Unicode NFKD with accents dropped,
  casefolded, every run of non-alphanumeric characters (punctuation, quotes, dashes, spacing, line
  breaks) read as one space — also when one of the two ends in a parenthesised group that the other
  lacks (a date/place line such as "(4–7 February 2025)", set inside the title block by some
  layouts and below it by others). A title that still ends in a footnote call (``*``, ``†``) is
  not acceptable even when the words match. On ``ocr``/``image`` files no title (or an unverified one)
  is acceptable; a wrong one is not.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from linkwatch.un import symbols as unsymbols  # noqa: E402

from linkwatch.pdf.inspect import Inspection, Inspector  # noqa: E402
from linkwatch.pdf.reading import title_matches  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "un-dev"
DEFAULT_TRUTH = HERE / "corpus" / "un-dev-truth.tsv"
@dataclass
class Row:
    file: str
    split: str
    symbols: set[str]
    lang: str
    text: str
    titles: list[str]
    note: str

    @classmethod
    def from_tsv(cls, r: dict[str, str]) -> Row:
        syms = {unsymbols.normalise(s) for s in r["symbols"].split(";") if s.strip()}
        titles = [t.strip() for t in [r["title"], *r["alt_titles"].split(";;")] if t.strip()]
        return cls(r["file"], r["split"], syms, r["lang"], r["text"], titles, r["note"])


@dataclass
class Tally:
    """Right/total per measure."""

    right: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    misses: dict[str, list[str]] = field(default_factory=dict)

    def add(self, measure: str, ok: bool, miss: str) -> None:
        self.total[measure] = self.total.get(measure, 0) + 1
        self.right[measure] = self.right.get(measure, 0) + ok
        if not ok:
            self.misses.setdefault(measure, []).append(miss)

    def figure(self, measure: str) -> str:
        n, k = self.total.get(measure, 0), self.right.get(measure, 0)
        return f"{k}/{n} = {100 * k / n:.1f}%" if n else "–"


MEASURES = ("own symbol", "own symbol (scans: right or refused)", "language", "title",
            "title (scans: right or none)")


def judge(row: Row, got: Inspection, tally: Tally) -> None:
    """Add one file's judgments to ``tally``."""
    found = {unsymbols.normalise(s) for s in got.symbols}
    clean = row.text == "clean"
    tag = f"{row.file}: "
    if row.symbols or clean:
        ok = found == row.symbols
        if clean:
            tally.add("own symbol", ok, f"{tag}{sorted(found)} unverified={getattr(got, 'unverified', [])} "
                                        f"≠ {sorted(row.symbols)}")
        else:
            refused = not found
            tally.add("own symbol (scans: right or refused)", ok or refused,
                      f"{tag}{sorted(found)} ≠ {sorted(row.symbols)}")
    if clean:
        tally.add("language", got.lang == row.lang, f"{tag}{got.lang} ≠ {row.lang}")
    if row.titles:
        ok = title_matches(got.title, row.titles)
        if clean:
            tally.add("title", ok, f"{tag}{got.title!r}\n      ≠ {row.titles[0]!r}")
        else:
            tally.add("title (scans: right or none)", ok or not got.title,
                      f"{tag}{got.title!r} ≠ {row.titles[0]!r}")


def run_engine(engine: str, rows: list[Row], corpus: Path, workers: int) -> tuple[dict[str, Tally], float]:
    """Inspect every file with one engine; tallies per split ("dev", "holdout", "all") and wall time."""
    tallies = {s: Tally() for s in ("dev", "holdout", "all")}
    with Inspector(workers=workers, engine=engine) as inspector:
        inspector.inspect(corpus / rows[0].file)  # start the worker before timing
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:  # the Inspector is thread-safe: one worker process each
            results = list(zip(rows, pool.map(lambda row: inspector.inspect(corpus / row.file), rows)))
        wall = time.perf_counter() - t0
    for row, got in results:
        judge(row, got, tallies[row.split])
        judge(row, got, tallies["all"])
    return tallies, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--truth", type=Path, default=DEFAULT_TRUTH)
    ap.add_argument("--engine", choices=("both", "poppler", "pypdf"), default="both")
    ap.add_argument("--split", choices=("dev", "holdout", "all"), default="all",
                    help="which files to inspect (figures are always given per split)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--misses", action="store_true", help="list every miss (of the split inspected)")
    ap.add_argument("--json", action="store_true", help="print {engine: {split: {measure: ratio}}} only")
    args = ap.parse_args(argv)

    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    rows = [Row.from_tsv(r) for r in csv.DictReader(args.truth.open(encoding="utf-8"), delimiter="\t")]
    rows = [r for r in rows if (args.split == "all" or r.split == args.split) and (args.corpus / r.file).is_file()]
    engines = ("poppler", "pypdf") if args.engine == "both" else (args.engine,)
    splits = ("dev", "holdout", "all") if args.split == "all" else (args.split,)
    results = {e: run_engine(e, rows, args.corpus, args.workers) for e in engines}

    if args.json:
        print(json.dumps({e: {s: {m: t.right[m] / t.total[m] for m in t.total} for s, t in results[e][0].items()}
                          for e in engines}))
        return 0
    print(f"| measure | {' | '.join(f'{e} {s}' for e in engines for s in splits)} |")
    print(f"|---|{'---|' * (len(engines) * len(splits))}")
    for m in MEASURES:
        print(f"| {m} | {' | '.join(results[e][0][s].figure(m) for e in engines for s in splits)} |")
    print(f"| wall time, {len(rows)} files, {args.workers} worker(s) | "
          f"{' | '.join(f'{results[e][1]:.1f} s' if s == splits[-1] else '' for e in engines for s in splits)} |")
    if args.misses:
        for e in engines:
            for m, misses in results[e][0][splits[-1]].misses.items():
                print(f"\n[{e}] {m}: {len(misses)} misses")
                for miss in misses:
                    print("  ", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
