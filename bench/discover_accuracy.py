"""Recall and precision of ``linkwatch discover`` against the hand-written citation truth.

    python bench/discover_accuracy.py [--shared ../shared] [--set dev|holdout|all] [--misses]

For every source of ``bench/corpus/citations/split.tsv`` (a PDF of the development corpus or a
concept note under ``--shared``), runs :func:`linkwatch.un.discover.discover` and compares the
documents it lists *with a symbol* (URL-only page entries are not citations of UN documents) to
``bench/corpus/citations/<source>.tsv``:

- a truth entry is found when some listed document has one of its symbols (a joint symbol is one
  document, found by any of its parts; :func:`linkwatch.un.symbols.same` compares);
- a listed document is right when it is some truth entry.

recall = found / truth entries; precision = right / listed. Per file, then per set (dev, holdout)
summed over files. ``--misses`` prints what was missed and what was listed wrongly.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from linkwatch.un import symbols as unsymbols  # noqa: E402
from linkwatch.un.discover import discover  # noqa: E402

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "corpus" / "citations"


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return [row for row in csv.reader(fh, delimiter="\t") if row and not row[0].startswith("#")]


def truth(source: str) -> list[list[str]]:
    """The truth entries of one source, each a list of symbol parts."""
    return [unsymbols.split_joint(row[0]) for row in _rows(TRUTH / f"{source}.tsv")]


def _matches(parts: list[str], listed: list[str]) -> bool:
    return any(unsymbols.same(a, b) for a in parts for b in listed)


def score(expected: list[list[str]], listed: list[list[str]]) -> tuple[int, int, list, list]:
    """(found, right, missed truth entries, wrong listed documents)."""
    missed = [e for e in expected if not any(_matches(e, got) for got in listed)]
    wrong = [got for got in listed if not any(_matches(e, got) for e in expected)]
    return len(expected) - len(missed), len(listed) - len(wrong), missed, wrong


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    ap.add_argument("--set", choices=("dev", "holdout", "all"), default="all")
    ap.add_argument("--misses", action="store_true", help="print missed and wrongly listed documents")
    args = ap.parse_args(argv)

    totals: dict[str, list[int]] = {}
    print(f"{'source':45} {'set':8} {'truth':>5} {'found':>5} {'listed':>6} {'right':>5} {'recall':>7} {'precision':>9}")
    for source, which, rel in _rows(TRUTH / "split.tsv"):
        if args.set not in ("all", which):
            continue
        path = args.shared / rel
        if not path.is_file():
            print(f"{source}: {path} not found (is ../shared there?)", file=sys.stderr)
            return 2
        expected = truth(source)
        listed = [r.symbols for r in discover(str(path)).references if r.symbols]
        found, right, missed, wrong = score(expected, listed)
        t = totals.setdefault(which, [0, 0, 0, 0])
        for i, v in enumerate((len(expected), found, len(listed), right)):
            t[i] += v
        print(f"{source:45} {which:8} {len(expected):5} {found:5} {len(listed):6} {right:5} "
              f"{_pct(found, len(expected)):>7} {_pct(right, len(listed)):>9}")
        if args.misses:
            for e in missed:
                print(f"    missed  {'–'.join(e)}")
            for w in wrong:
                print(f"    wrong   {'–'.join(w)}")
    for which, (n, found, listed, right) in totals.items():
        print(f"{'TOTAL ' + which:45} {'':8} {n:5} {found:5} {listed:6} {right:5} "
              f"{_pct(found, n):>7} {_pct(right, listed):>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
