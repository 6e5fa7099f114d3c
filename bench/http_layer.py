"""What the HTTP layer costs per request, against nginx on 127.0.0.1 (bench/server.py), for the
availability path: N HEAD requests to the avail-N site's URLs, redirects not followed.

    python bench/http_layer.py N

Candidates: linkwatch's Fetcher (urllib3 + retries, politeness, recording) in 16 threads; bare
urllib3 in 16 threads; aiohttp with 64 in flight in one process; aiohttp in one process per core;
linkwatch's Prober (aiohttp + the same rules as the Fetcher) on an event loop in a thread, and in
a child process (what ``check --availability-only`` uses), 64 in flight.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import server as site  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "18080"))
BASE = f"http://127.0.0.1:{PORT}"


def fetcher_threads(urls: list[str]) -> None:
    from linkwatch.http.client import FetchConfig
    from linkwatch.http.fetcher import Fetcher

    with Fetcher(FetchConfig(per_host=64, min_interval=0)) as f, ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: f.fetch(u, Path("/tmp"), want_body=False, method="HEAD"), urls))


def urllib3_threads(urls: list[str]) -> None:
    import urllib3

    pm = urllib3.PoolManager(maxsize=16)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: pm.request("HEAD", u, redirect=False).status, urls))


async def _aio(urls: list[str], inflight: int = 64) -> None:
    import aiohttp

    sem = asyncio.Semaphore(inflight)
    conn = aiohttp.TCPConnector(limit=inflight)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def one(u: str) -> int:
            async with sem, session.head(u, allow_redirects=False) as r:
                return r.status
        await asyncio.gather(*(one(u) for u in urls))


def aiohttp_one(urls: list[str]) -> None:
    asyncio.run(_aio(urls))


def _aio_part(urls: list[str]) -> None:
    asyncio.run(_aio(urls, 32))


def aiohttp_procs(urls: list[str]) -> None:
    n = os.cpu_count() or 2
    with ProcessPoolExecutor(n) as pool:
        list(pool.map(_aio_part, [urls[i::n] for i in range(n)]))


def prober_thread(urls: list[str]) -> None:
    _prober(urls, process=False)


def prober_process(urls: list[str]) -> None:
    _prober(urls, process=True)


def _prober(urls: list[str], process: bool) -> None:
    from linkwatch.http.client import FetchConfig
    from linkwatch.http.prober import Prober

    for _ in Prober(FetchConfig(per_host=64, min_interval=0), 64, process=process).probe_all(enumerate(urls)):
        pass


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    root = site.build_avail(n, BASE)
    urls = root.joinpath("urls.txt").read_text().split()
    server = site.Nginx(root, PORT)
    try:
        fns = [fetcher_threads, urllib3_threads, aiohttp_one, aiohttp_procs, prober_thread, prober_process]
        times = {f.__name__: [] for f in fns}
        for _ in range(3):
            for f in fns:
                t = time.perf_counter()
                f(urls)
                times[f.__name__].append(time.perf_counter() - t)
    finally:
        server.stop()
    print(f"| HTTP layer ({len(urls):,} HEAD requests) | median s (min–max) | µs/request |\n|---|---:|---:|")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {m:.2f} ({min(ts):.2f}–{max(ts):.2f}) | {m / len(urls) * 1e6:.0f} |")


if __name__ == "__main__":
    main()
