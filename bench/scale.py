"""Scale-out figures (docs/scale.md): the embedded archive against PostgreSQL + S3, on one machine.

    python bench/scale.py [--documents 240]

Starts its own PostgreSQL (Debian's initdb/pg_ctl) and SeaweedFS (weed mini) on loopback, and a
local HTTP server on three loopback addresses (three hosts) serving real UN PDFs, each document's
bytes made distinct (a comment after %%EOF) and with the response headers documents.un.org sends.
Prints:

1. per-document time of `archive` (first run: fetch, inspect, store) and of a `check` re-run
   (conditional requests), embedded (SQLite + folder) against shared (PostgreSQL + S3);
2. index bytes per observation after three runs: the SQLite file, and every linkwatch table of
   the PostgreSQL database with its indexes and TOAST;
3. a 3-worker campaign on PostgreSQL + S3, host-sharded, one worker SIGKILLed half-way and run
   again: politeness at the server (most in flight per host, most starts in any second), and
   every document observed exactly once in the campaign.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import services  # noqa: E402
from httpserver import Content, Delay, LocalServer  # noqa: E402

PDFS = sorted((ROOT / "tests" / "fixtures" / "pdfs").glob("*.pdf"))
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
# What documents.un.org sends with a PDF (values shortened where they identify a request).
UN_HEADERS = {
    "Cache-Control": "public, max-age=86400", "Content-Disposition": 'inline; filename="N2412345.pdf"',
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline' https://www.un.org; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'self'",
    "Server": "Microsoft-IIS/10.0", "X-Powered-By": "ASP.NET", "X-AspNet-Version": "4.0.30319",
    "Set-Cookie": "ARRAffinity=3f1d5c1e0d2f4b7a9c8e6d5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f; Path=/; "
                  "HttpOnly; Secure; Domain=documents.un.org",
    "Accept-Ranges": "bytes", "Vary": "Accept-Encoding",
}


def manifest(servers: list[LocalServer], folder: Path, count: int, delay: float = 0.0,
             weights: tuple[int, ...] = (1, 1, 1)) -> Path:
    lines = []
    for i in range(count):
        h = _host_for(i, weights)
        pdf = PDFS[i % len(PDFS)]
        body = pdf.read_bytes() + f"\n%linkwatch-bench {i}\n".encode()
        handler = Content(body, "application/pdf", headers=dict(UN_HEADERS))
        url = servers[h].route(f"/d/{i}.pdf", Delay(delay, handler) if delay else handler)
        lines.append(f'[[document]]\nid = "d{i}"\nurl = "{url}"\n')
    path = folder / f"m{count}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _host_for(i: int, weights: tuple[int, ...]) -> int:
    slot, total = i % sum(weights), 0
    for h, w in enumerate(weights):
        total += w
        if slot < total:
            return h
    return 0


def cli(*args: str, env: dict[str, str] | None = None, quiet: bool = True) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "linkwatch", *args], cwd=ROOT, env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - t0


FAST = ["--min-interval", "0", "--per-host", "8", "--concurrency", "8", "--retries", "0", "--no-progress",
        "--fail-on", "never", "--format", "json", "--output", os.devnull]


def overhead(servers: list[LocalServer], folder: Path, n: int, pg: services.Postgres, s3: services.SeaweedS3
             ) -> None:
    path = manifest(servers, folder, n)
    setups = {"embedded (SQLite + folder)": ({}, []),
              "shared (PostgreSQL + S3)": ({**s3.env(), "LINKWATCH_INDEX": pg.database()},
                                           ["--store", f"s3://{services.BUCKET}/bench-{time.time_ns()}"])}
    print(f"\n1. per-document time, {n} documents on 3 hosts (ms per document); index and kept bytes after "
          "three runs")
    print(f"   {'':28} {'archive, 1st':>13} {'check re-run':>13} {'index bytes/obs':>16} {'snapshot bytes':>15} "
          f"{'WARC bytes':>11}")
    for name, (extra_env, extra) in setups.items():
        env = {**{k: v for k, v in os.environ.items() if k != "LINKWATCH_INDEX"},
               "AWS_EC2_METADATA_DISABLED": "true", **extra_env}
        archive = folder / f"a-{len(name)}"
        first = cli("archive", str(path), "--archive", str(archive), *extra, *FAST, env=env)
        rerun = cli("check", str(path), "--archive", str(archive), *extra, *FAST, env=env)
        cli("check", str(path), "--archive", str(archive), *extra, *FAST, env=env)
        per_obs = index_bytes(archive, extra_env.get("LINKWATCH_INDEX"))
        blobs, warcs = stored_bytes(archive, extra[1] if extra else None, s3)
        print(f"   {name:28} {first / n * 1000:13.1f} {rerun / n * 1000:13.1f} {per_obs:16,.0f} {blobs:15,} {warcs:11,}")


def stored_bytes(archive: Path, store: str | None, s3: services.SeaweedS3) -> tuple[int, int]:
    """(bytes of snapshots, bytes of WARC files) kept, in the folder or in the bucket."""
    if store is None:
        size = lambda sub: sum(p.stat().st_size for p in (archive / sub).rglob("*") if p.is_file())  # noqa: E731
        return size("blobs"), size("warc")
    import boto3

    from linkwatch.store.s3 import parse

    bucket, prefix = parse(store)
    client = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.access_key,
                          aws_secret_access_key=s3.secret_key, region_name="us-east-1")
    sizes = {"blobs": 0, "warc": 0}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", ()):
            top = obj["Key"][len(prefix):].split("/", 1)[0]
            sizes[top] = sizes.get(top, 0) + obj["Size"]
    return sizes["blobs"], sizes["warc"]


def index_bytes(archive: Path, url: str | None) -> float:
    """Index bytes per observation (3 runs recorded)."""
    if url is None:
        import sqlite3

        db = sqlite3.connect(archive / "index.sqlite")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        db.close()
        return (archive / "index.sqlite").stat().st_size / count
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
        size = db.execute("SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                          "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchone()[0]
        count = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    return size / count


def campaign(servers: list[LocalServer], folder: Path, n: int, pg: services.Postgres,
             s3: services.SeaweedS3) -> None:
    per_host, interval = 2, 0.1
    path = manifest(servers, folder, n, delay=0.05, weights=(4, 1, 1))  # one host holds 2/3
    for s in servers:
        s.reset_counts()
    url = pg.database()
    env = {**os.environ, **s3.env(), "LINKWATCH_INDEX": url, "AWS_EC2_METADATA_DISABLED": "true"}
    store = f"s3://{services.BUCKET}/campaign-{time.time_ns()}"

    def worker(k: int) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "linkwatch", "archive", str(path), "--archive", str(folder / f"w{k}"),
             "--store", store, "--shard", f"{k}/3", "--campaign", "bench", "--per-host", str(per_host),
             "--min-interval", str(interval), "--concurrency", "8", "--retries", "0", "--no-progress",
             "--fail-on", "never", "--format", "json", "--output", os.devnull],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    from linkwatch.store.archive import open_index

    open_index(folder, url).close()  # the schema, before the workers (any of them would create it)
    t0 = time.perf_counter()
    procs = {k: worker(k) for k in (1, 2, 3)}
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        while True:  # SIGKILL a worker once it has recorded a third of the documents of the campaign
            done = db.execute("SELECT COUNT(*) FROM observations WHERE campaign = 'bench'").fetchone()[0]
            alive = [k for k, p in procs.items() if p.poll() is None]
            if done >= n // 3 or not alive:
                break
            time.sleep(0.05)
        victim = alive[0] if alive else 1
        os.kill(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait()
        killed_at = db.execute("SELECT COUNT(*) FROM observations WHERE campaign = 'bench'").fetchone()[0]
        procs[victim] = worker(victim)  # the batch system retries the shard
        for p in procs.values():
            p.wait()
        wall = time.perf_counter() - t0
        rows = db.execute("SELECT document_id, COUNT(*) FROM observations WHERE campaign = 'bench' "
                          "GROUP BY document_id").fetchall()
    print(f"\n3. 3-worker campaign on PostgreSQL + S3, {n} documents on 3 hosts (2/3 on one), "
          f"--per-host {per_host} --min-interval {interval}, answers 50 ms late")
    print(f"   worker {victim} SIGKILLed with {killed_at} documents recorded, then run again; wall time {wall:.1f} s")
    print(f"   documents observed: {len(rows)} of {n}; observed more than once: {sum(1 for _, c in rows if c > 1)}")
    for h, s in zip(HOSTS, servers):
        starts = sorted(r.received_at for r in s.requests())
        most = max((sum(1 for u in starts[i:] if u - t < 1.0) for i, t in enumerate(starts)), default=0)
        print(f"   host {h}: {s.hits()} requests, most in flight {s.max_in_flight()} (limit {per_host}), "
              f"most starts in any 1 s {most} (limit {int(1 / interval)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=240)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linkwatch-scale-") as tmp, services.postgres() as pg, \
            services.seaweedfs() as s3:
        servers = [LocalServer(host=h).start() for h in HOSTS]
        try:
            overhead(servers, Path(tmp), args.documents, pg, s3)
            campaign(servers, Path(tmp), args.documents, pg, s3)
        finally:
            for s in servers:
                s.stop()


if __name__ == "__main__":
    main()
