"""Per-request overhead of the HTTP layer: 2,000 sequential GETs of a ~1 KiB body.

The server runs in another process (no shared GIL): `canned` is a minimal keep-alive socket
server (bench/canned_server.py), `localserver` the test suite's tests/httpserver.py.
Measures requests.Session, requests doing the Fetcher's work (temp file + both hashes),
linkwatch's Fetcher with and without body, and bare urllib3 as the lower bound.

usage: python bench/fetch_overhead.py canned|localserver
"""
import hashlib, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]
import requests, urllib3
from linkwatch.http.fetcher import Fetcher
from linkwatch.http.client import FetchConfig
N, ROUNDS = 2000, 7
SERVE_LOCAL = (f"import sys, time; sys.path[:0] = [{str(HERE.parent / 'tests')!r}]\n"
               "from httpserver import LocalServer, Content\n"
               "with LocalServer() as srv:\n"
               "    srv.route('/doc.pdf', Content(b'%PDF-1.4 ' + b'x' * 1000, 'application/pdf'))\n"
               "    print(srv.port, flush=True); time.sleep(3600)\n")
cmd = {"canned": [sys.executable, str(HERE / "canned_server.py")], "localserver": [sys.executable, "-c", SERVE_LOCAL]}[sys.argv[1]]
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
url = f"http://127.0.0.1:{proc.stdout.readline().strip()}/doc.pdf"

def fetcher_body(d):
    with Fetcher(FetchConfig()) as f:
        t = time.perf_counter()
        for _ in range(N):
            r = f.fetch(url, d); assert r.http_status == 200 and r.size == 1009
            r.body_path.unlink()
        return time.perf_counter() - t
def fetcher_nobody(d):
    with Fetcher(FetchConfig()) as f:
        t = time.perf_counter()
        for _ in range(N):
            assert f.fetch(url, d, want_body=False).http_status == 200
        return time.perf_counter() - t
def requests_session(d):
    with requests.Session() as s:
        t = time.perf_counter()
        for _ in range(N):
            r = s.get(url); assert r.status_code == 200 and len(r.content) == 1009
        return time.perf_counter() - t
def requests_same_work(d):
    """requests plus what the Fetcher also does: temp file, sha256 + sha512, unlink."""
    with requests.Session() as s:
        t = time.perf_counter()
        for _ in range(N):
            r = s.get(url, stream=True)
            h1, h2 = hashlib.sha256(), hashlib.sha512()
            with tempfile.NamedTemporaryFile(delete=False, dir=d, prefix=".part-") as f:
                for chunk in r.iter_content(65536):
                    h1.update(chunk); h2.update(chunk); f.write(chunk)
            os.unlink(f.name)
        return time.perf_counter() - t
def raw_urllib3(d):
    pm = urllib3.PoolManager(); t = time.perf_counter()
    for _ in range(N):
        assert pm.request("GET", url).status == 200
    return time.perf_counter() - t
try:
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); fns = [requests_session, requests_same_work, fetcher_body, fetcher_nobody, raw_urllib3]
        res = {f.__name__: [] for f in fns}
        for f in fns: f(d)  # warm-up
        for _ in range(ROUNDS):
            for f in fns: res[f.__name__].append(f(d))
        for name, ts in res.items():
            m = statistics.median(ts)
            print(f"{name:20s} median {m:.2f} s  best {min(ts):.2f} s  ({m/N*1e6:.0f} µs/request median)")
finally:
    proc.terminate(); proc.wait()
