"""How a run grows: manifest size, history length, host layout (bench only; never part of the tests).

    python bench/growth.py size 10000 50000 100000 [--full]   # first run and re-run at each size
    python bench/growth.py history 10000 --runs 51 [--full]   # one archive, many runs of the same manifest
    python bench/growth.py manifest N OUT [--hosts H] [--layout grouped|interleaved]

Each measurement is ``bench/overhead.py`` in a fresh process (the network replaced by canned
answers shaped like the bench site's), so peak RSS is the run's own: it prints CPU seconds per
stage and the peak resident set. Manifests are generated under ``$BENCH_WORK/growth`` (default
bench/.work/growth, gitignored): N documents over H hosts (``grouped``: listed host by host, as real
manifests are; ``interleaved``: host after host in turn), with the bench site's mix (79% PDFs, 10%
pages, 5% missing, 5% moved, 1% slow).

The host layout does not change what overhead.py measures (no network); it matters for the real
HTTP phase, measured by ``bench/host_order.py``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("BENCH_WORK", HERE / ".work")).resolve() / "growth"


def manifest_text(n: int, hosts: int = 1, layout: str = "grouped") -> str:
    """A manifest of ``n`` documents spread over ``hosts`` hosts."""
    out = ['[manifest]\ntitle = "growth"\n\n[defaults]\nlang = "en"\n']
    per_host = -(-n // hosts)
    for k in range(n):
        host, j = (k // per_host, k % per_host) if layout == "grouped" else (k % hosts, k // hosts)
        i = host * per_host + j  # the document's number: the same documents in either layout
        share = i % 100
        path, kind = (f"/doc/{i}.pdf", "pdf") if share < 79 else (f"/page/{i}.html", "page") if share < 88 \
            else (f"/missing/{i}.pdf", "pdf") if share < 93 else (f"/moved/m{i}.pdf", "pdf") if share < 99 \
            else (f"/slow/{i}.pdf", "pdf")
        base = f"http://h{host}.bench.test:18080" if hosts > 1 else "http://127.0.0.1:18080"
        out.append(f'[[document]]\nid = "d{i}"\nurl = "{base}{path}"\n'
                   + (f'symbol = "A/BENCH/{i}"\n' if kind == "pdf" else 'kind = "page"\n'))
    return "\n".join(out)


def manifest(n: int, hosts: int = 1, layout: str = "grouped") -> Path:
    path = WORK / f"m-{n}-{hosts}-{layout}.toml"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        path.write_text(manifest_text(n, hosts, layout))
    return path


def overhead(manifest_path: Path, runs: int, full: bool) -> tuple[list[str], float]:
    """overhead.py's per-run lines and its peak RSS (MB), in a fresh process on a fresh archive."""
    archive = WORK / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    cmd = [sys.executable, str(HERE / "overhead.py"), str(manifest_path), str(archive), "--cpu",
           "--runs", str(runs)] + (["--full"] if full else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    shutil.rmtree(archive, ignore_errors=True)
    lines = [ln for ln in out.splitlines() if ln.startswith("run ")]
    rss = float(re.search(r"peak RSS (\d+)", out).group(1))
    return lines, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("size")
    p.add_argument("sizes", type=int, nargs="+")
    p.add_argument("--full", action="store_true")
    p.add_argument("--hosts", type=int, default=1)
    p = sub.add_parser("history")
    p.add_argument("n", type=int)
    p.add_argument("--runs", type=int, default=51)
    p.add_argument("--full", action="store_true")
    p = sub.add_parser("manifest")
    p.add_argument("n", type=int)
    p.add_argument("out", type=Path)
    p.add_argument("--hosts", type=int, default=1)
    p.add_argument("--layout", choices=("grouped", "interleaved"), default="grouped")
    args = ap.parse_args()
    if args.what == "manifest":
        args.out.write_text(manifest_text(args.n, args.hosts, args.layout))
        return
    if args.what == "size":
        print("| documents | first run: peak RSS MB | first + re-run: peak RSS MB | CPU s per stage |\n|---:|---:|---:|---|")
        for n in args.sizes:
            m = manifest(n, args.hosts)
            first, rss1 = overhead(m, 1, args.full)
            both, rss2 = overhead(m, 2, args.full)
            print(f"| {n:,} | {rss1:.0f} | {rss2:.0f} | {first[0]}; {both[1]} |", flush=True)
        return
    lines, rss = overhead(manifest(args.n), args.runs, args.full)
    for ln in lines:
        print(ln)
    print(f"peak RSS over {args.runs} runs: {rss:.0f} MB")


if __name__ == "__main__":
    main()
