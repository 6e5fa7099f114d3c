"""CPU per request of compiled HTTP clients against aiohttp, for the bulk path (bench only).

    python bench/http_clients.py [N] [--inflight 64]

Each candidate sends N HEAD requests (redirects not followed, 64 in flight, keep-alive) to a
local server (bench/connections.py's, on one address, in a child process: its CPU not counted) from a fresh child
process, which reports its wall time and its own CPU (user + system, ``resource.getrusage``): on
a shared machine CPU per request is the figure that holds; wall depends on the neighbours.

Candidates: aiohttp on asyncio's loop (linkwatch's Prober today), aiohttp on uvloop, pycurl's multi
interface, curl_cffi's AsyncSession, pyreqwest (reqwest on tokio, lychee's stack). Bare clients:
linkwatch's rules (redirect checks, provenance, retries, per-host limits) cost the same in Python
on top of any of them (~60–90 µs a request, bench/RESULTS.md). Install the candidates in a venv of
their own: ``pip install aiohttp uvloop pycurl curl_cffi pyreqwest``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from connections import SERVER  # noqa: E402  (the keep-alive server counting connections)

CHILD = r'''
import asyncio, json, resource, sys, time
name, base, n, inflight = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
urls = [f"{base}/doc/{i}.pdf" for i in range(n)]

async def aio(loop_factory=None):
    import aiohttp
    sem = asyncio.Semaphore(inflight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight)) as s:
        async def one(u):
            async with sem, s.head(u, allow_redirects=False) as r:
                return r.status
        return await asyncio.gather(*(one(u) for u in urls))

async def curl_cffi_async():
    from curl_cffi.requests import AsyncSession
    sem = asyncio.Semaphore(inflight)
    async with AsyncSession(max_clients=inflight) as s:
        async def one(u):
            async with sem:
                return (await s.head(u, allow_redirects=False)).status_code
        return await asyncio.gather(*(one(u) for u in urls))

async def reqwest():
    from pyreqwest.client import ClientBuilder
    sem = asyncio.Semaphore(inflight)
    async with ClientBuilder().max_connections(inflight).follow_redirects(False).build() as c:
        async def one(u):
            async with sem:
                return (await c.head(u).build().send()).status
        return await asyncio.gather(*(one(u) for u in urls))

def pycurl_multi():
    import pycurl
    m = pycurl.CurlMulti()
    free = []
    for _ in range(inflight):
        c = pycurl.Curl()
        c.setopt(pycurl.NOBODY, 1)
        c.setopt(pycurl.FOLLOWLOCATION, 0)
        c.setopt(pycurl.HEADERFUNCTION, lambda line: None)
        free.append(c)
    todo, statuses, active = list(urls), [], 0
    while todo or active:
        while todo and free:
            c = free.pop()
            c.setopt(pycurl.URL, todo.pop())
            m.add_handle(c)
            active += 1
        while m.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        _, ok, failed = m.info_read()
        for c in ok:
            statuses.append(c.getinfo(pycurl.RESPONSE_CODE))
            m.remove_handle(c); free.append(c); active -= 1
        for c, _errno, _msg in failed:
            statuses.append(0)
            m.remove_handle(c); free.append(c); active -= 1
        if not ok and not failed:
            m.select(1.0)
    return statuses

import importlib
for module in {"aiohttp": ["aiohttp"], "aiohttp+uvloop": ["aiohttp", "uvloop"], "curl_cffi": ["curl_cffi.requests"],
               "pyreqwest": ["pyreqwest.client"], "pycurl multi": ["pycurl"]}[name]:
    importlib.import_module(module)  # imports and start-up are not the requests' cost
before = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
if name == "aiohttp":
    got = asyncio.run(aio())
elif name == "aiohttp+uvloop":
    import uvloop
    got = uvloop.run(aio())
elif name == "curl_cffi":
    got = asyncio.run(curl_cffi_async())
elif name == "pyreqwest":
    got = asyncio.run(reqwest())
elif name == "pycurl multi":
    got = pycurl_multi()
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"wall": wall, "cpu": cpu, "ok": sum(s == 200 for s in got)}))
'''

CANDIDATES = ("aiohttp", "aiohttp+uvloop", "pycurl multi", "curl_cffi", "pyreqwest")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=10000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER, "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        base = f"http://{server.stdout.readline().strip()}"  # type: ignore[union-attr]
        figures: dict[str, list[dict[str, float]]] = {c: [] for c in CANDIDATES}
        for _ in range(args.rounds):
            for name in CANDIDATES:
                out = subprocess.run([sys.executable, "-c", CHILD, name, base, str(args.n), str(args.inflight)],
                                     capture_output=True, text=True)
                if out.returncode == 0:
                    figures[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                else:
                    print(f"{name}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    finally:
        server.communicate("")
    print(f"| client ({args.n:,} HEADs, {args.inflight} in flight) | CPU µs/request, median (min–max) | wall s, median | 200s |")
    print("|---|---:|---:|---:|")
    for name, runs in figures.items():
        if not runs:
            print(f"| {name} | failed | | |")
            continue
        cpu = [r["cpu"] / args.n * 1e6 for r in runs]
        print(f"| {name} | {statistics.median(cpu):.0f} ({min(cpu):.0f}–{max(cpu):.0f}) | "
              f"{statistics.median(r['wall'] for r in runs):.2f} | {runs[0]['ok']:,} |")


if __name__ == "__main__":
    main()
