"""The non-HTTP share of a big run, stage by stage, with the fetcher replaced by canned answers.

    python bench/overhead.py MANIFEST ARCHIVE [--full] [--runs N]

Does what ``linkwatch check MANIFEST --availability-only --format json`` does (``--full``: a full
check, each PDF answered as a 700-byte generated PDF without inspecting it) minus the network:
each URL gets a canned FetchResult shaped like the bench site's answer (/doc/ and /slow/ 200 PDF,
/page/ 200 HTML, /missing/ 404, /moved/ 301 then 200). Prints seconds (wall, or CPU with --cpu) per stage for each run
(run 1 on a fresh ARCHIVE is a first run, the next ones are re-runs) and the peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

T0 = time.perf_counter()
from linkwatch import __version__  # noqa: E402
from linkwatch import run as lwrun  # noqa: E402
from linkwatch.compare import judge  # noqa: E402
from linkwatch.http.client import FetchResult, Hop
from linkwatch.report.formats import render  # noqa: E402
from linkwatch.manifest import load_all  # noqa: E402
from linkwatch.observation import Observation  # noqa: E402
from linkwatch.plan import plan  # noqa: E402
from linkwatch.store.record import Recorder  # noqa: E402
from linkwatch.report import Report  # noqa: E402
from linkwatch.timestamps import now  # noqa: E402

T_IMPORT = time.perf_counter() - T0
RSS = False  # --rss: the resident set after each stage
CPU = False  # --cpu: CPU seconds instead of wall (steadier on a shared machine)
BATCH = 64  # what finishes together with --concurrency 64, roughly


def canned(url: str, full: bool) -> FetchResult:
    headers = {"Server": "nginx", "Date": "Thu, 01 Jan 2026 00:00:00 GMT", "Connection": "keep-alive",
               "LinkChecker": "bench"}
    req = {"User-Agent": f"linkwatch/{__version__}", "Accept": "application/pdf,text/html;q=0.9,*/*;q=0.8"}
    stamp = now()
    if "/missing/" in url:
        return FetchResult(url, stamp, final_url=url, http_status=404, content_type="text/html",
                           error="HTTP 404", error_kind="http", elapsed=0.001, request_headers=req,
                           response_headers=headers, reason="Not Found", remote_addr="127.0.0.1")
    redirects = []
    final = url
    if "/moved/" in url:
        final = url.replace("/moved/", "/doc/")
        redirects = [Hop(url, 301, final)]
    html = "/page/" in url
    ctype = "text/html" if html else "application/pdf"
    result = FetchResult(url, stamp, final_url=final, http_status=200, redirects=redirects, content_type=ctype,
                         etag='"65f1-2bc"', last_modified="Thu, 01 Jan 2026 00:00:00 GMT", elapsed=0.001,
                         request_headers=req, response_headers={**headers, "Content-Type": ctype,
                                                                "Content-Length": "700", "ETag": '"65f1-2bc"'},
                         reason="OK", remote_addr="127.0.0.1")
    if full:
        result.size = 700
        result.sha256 = f"{abs(hash(final)):064x}"[:64]
        result.sha512 = result.sha256 * 2
        result.head = b"<html><title>x</title></html>" if html else b"%PDF-1.4\n"
    return result


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1024**2


def one_run(manifest: str, archive: Path, full: bool, out: Path) -> dict[str, float]:
    t: dict[str, float] = {}
    clock = time.process_time if CPU else time.perf_counter
    mark = clock()

    def lap(name: str) -> None:
        nonlocal mark
        now_ = clock()
        t[name] = now_ - mark
        mark = now_
        if RSS:
            t[name + " MB"] = _rss_mb()

    manifests = load_all([manifest])
    documents = [d for m in manifests for d in m.documents]
    lap("manifest")
    store = lwrun.Archive(archive)
    started = now()
    index = store.index
    run_id = index.start_run("check", started, __version__, [m.path for m in manifests])
    index.upsert_documents(documents, started)
    lap("open+upsert")
    tasks = plan(documents, index, False, store.blobs.has, transient=2)
    lap("plan")
    outcomes = []
    for task in tasks:
        obs = Observation.from_fetch(task.document.id, canned(task.document.url, full), __version__)
        status, findings = judge(task.document, obs, task.previous, streak=task.streak, transient=2,
                                 availability_only=not full)
        obs.status = status
        outcomes.append((task, obs, findings))
    lap("judge (workers)")
    recorder = Recorder(index, store.blobs, None, started)
    results = []
    for i in range(0, len(outcomes), BATCH):
        with index.transaction():
            for task, obs, findings in outcomes[i:i + BATCH]:
                obs.run_id = run_id
                recorder.record(obs, findings, False)
                results.append(lwrun.to_result(task.document, obs, findings, task.previous, index))
    lap("record+to_result")
    report = Report(run_id=run_id, command="check", started_at=started, finished_at=now(), tool_version=__version__,
                    manifests=[m.path for m in manifests], documents=results, archive=str(archive))
    index.finish_run(run_id, report.finished_at, report.exit_code("error"))
    text = render(report, "json")
    out.write_text(text, encoding="utf-8")
    lap("report json")
    store.close()
    t["total"] = sum(v for k, v in t.items() if not k.endswith("MB"))
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("archive", type=Path)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="do not delete ARCHIVE first")
    ap.add_argument("--rss", action="store_true", help="print the resident set after each stage")
    ap.add_argument("--cpu", action="store_true", help="CPU seconds per stage instead of wall seconds")
    args = ap.parse_args()
    global RSS, CPU
    RSS, CPU = args.rss, args.cpu
    if not args.keep:
        shutil.rmtree(args.archive, ignore_errors=True)
    print(f"imports {T_IMPORT:.3f} s")
    for n in range(args.runs):
        t = one_run(args.manifest, args.archive, args.full, Path("/tmp/overhead-report.json"))
        print(f"run {n + 1}: " + "  ".join(f"{k} {v:.3f}" for k, v in t.items()))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
