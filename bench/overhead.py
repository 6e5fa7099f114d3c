"""The non-HTTP share of a big run, stage by stage, with the network replaced by canned answers.

    python bench/overhead.py MANIFEST ARCHIVE [--full] [--runs N] [--format json] [--cpu]

Runs what ``linkwatch check MANIFEST --availability-only --format json`` runs — the real
``linkwatch.run`` pipeline, in this process — with the two HTTP clients (the bulk ``Prober`` and
the thread-pool ``Fetcher``) replaced by canned answers shaped like the bench site's: /doc/ and
/slow/ 200 PDF, /page/ 200 HTML, /missing/ 404, /moved/ 301 then 200; a conditional request
answers 304. ``--full``: a full check (bodies' facts canned, nothing inspected). Prints, per run
(run 1 on a fresh ARCHIVE is a first run, the next ones re-runs), the main thread's seconds (wall,
or CPU with --cpu) in each serial stage — manifest, plan, record (recording and the report line),
report (rendering) — the total, and at the end the process's peak RSS.
"""
from __future__ import annotations

import argparse
import functools
import resource
import shutil
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

T0 = time.perf_counter()
from linkwatch import __version__  # noqa: E402
from linkwatch import plan as lwplan  # noqa: E402
from linkwatch import run as lwrun  # noqa: E402
from linkwatch.http.client import FetchResult, Hop  # noqa: E402
from linkwatch.report import formats  # noqa: E402
from linkwatch.store.record import Recorder  # noqa: E402
from linkwatch.timestamps import now  # noqa: E402

T_IMPORT = time.perf_counter() - T0
BATCH = 64  # what finishes together with --concurrency 64, roughly
SPENT: dict[str, float] = defaultdict(float)
CLOCK = time.perf_counter


def canned(url: str, full: bool, etag: str | None = None) -> FetchResult:
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
    if etag is not None:
        return FetchResult(url, stamp, final_url=final, http_status=304, redirects=redirects, etag=etag,
                           not_modified=True, elapsed=0.001, request_headers=req, response_headers=headers,
                           reason="Not Modified", remote_addr="127.0.0.1")
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


class CannedFetcher:
    """Stands in for fetch.Fetcher: every answer canned."""

    full = False

    def __init__(self, *_a: object, **_k: object) -> None:
        pass

    def __enter__(self) -> CannedFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def fetch(self, url: str, _tmp: Path, etag: str | None = None, last_modified: str | None = None,
              **_k: object) -> FetchResult:
        return canned(url, self.full, etag)

    def probe(self, url: str) -> FetchResult:
        return canned(url, False)


class CannedProber:
    """Stands in for fetch.Prober: reads its work as the real one does and answers in batches."""

    def __init__(self, *_a: object, **_k: object) -> None:
        pass

    def probe_all(self, items):  # type: ignore[no-untyped-def]
        return self._all(((key, url, None) for key, url in items), False)

    def revalidate_all(self, items):  # type: ignore[no-untyped-def]
        return self._all(((key, url, etag) for key, url, etag, _lm in items), CannedFetcher.full)

    def _all(self, items, full):  # type: ignore[no-untyped-def]
        batch = []
        for key, url, etag in items:
            batch.append((key, canned(url, full, etag)))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def timed(stage: str, fn):  # type: ignore[no-untyped-def]
    """``fn``, adding the main thread's time inside it to SPENT[stage] (worker threads not counted)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        t = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[stage] += CLOCK() - t
    return wrapper


def timed_iter(stage: str, fn):  # type: ignore[no-untyped-def]
    """Like :func:`timed` for a function returning an iterator: each ``next`` is timed."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        it = iter(timed(stage, fn)(*args, **kwargs))
        step = timed(stage, it.__next__)
        while True:
            try:
                yield step()
            except StopIteration:
                return
    return wrapper


def instrument() -> None:
    lwrun.Fetcher = CannedFetcher
    lwrun.Prober = CannedProber
    lwrun.load_all = timed("manifest", lwrun.load_all)
    for name in ("plan", "plan_one", "plan_each"):  # whichever the pipeline calls
        if hasattr(lwrun, name):
            fn = getattr(lwrun, name)
            setattr(lwrun, name, (timed_iter if name == "plan_each" else timed)("plan", fn))
    if hasattr(lwplan, "Planner"):  # a run plans each document as it goes
        lwplan.Planner.__call__ = timed("plan", lwplan.Planner.__call__)
    Recorder.record = timed("record", Recorder.record)
    lwrun.to_result = timed("record", lwrun.to_result)


def one_run(manifest: str, archive: Path, fmt: str, full: bool, out: Path) -> dict[str, float]:
    SPENT.clear()
    t = CLOCK()
    options = lwrun.Options(archive=archive, concurrency=64, per_host=64, min_interval=0, progress=False,
                            availability_only=not full)
    report = lwrun._execute([manifest], options, "check")
    SPENT["run"] = CLOCK() - t
    t = CLOCK()
    with open(out, "w", encoding="utf-8") as stream:
        formats.write(report, fmt, stream, archive=archive, output=out)
    SPENT["report"] = CLOCK() - t
    del report
    SPENT["total"] = SPENT["run"] + SPENT["report"]
    return dict(SPENT)


def main() -> None:
    global CLOCK
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("archive", type=Path)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--format", default="json", choices=formats.FORMATS)
    ap.add_argument("--keep", action="store_true", help="do not delete ARCHIVE first")
    ap.add_argument("--cpu", action="store_true", help="the main thread's CPU seconds instead of wall seconds")
    args = ap.parse_args()
    if args.cpu:
        CLOCK = time.thread_time
    CannedFetcher.full = args.full
    instrument()
    if not args.keep:
        shutil.rmtree(args.archive, ignore_errors=True)
    print(f"imports {T_IMPORT:.3f} s")
    for n in range(args.runs):
        t = one_run(args.manifest, args.archive, args.format, args.full, args.archive.with_name(args.archive.name + ".report"))
        serial = t.get("manifest", 0) + t.get("plan", 0) + t.get("report", 0)
        print(f"run {n + 1}: " + "  ".join(f"{k} {t.get(k, 0):.3f}" for k in ("manifest", "plan", "record", "report"))
              + f"  serial {serial:.3f}  total {t['total']:.3f}", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
