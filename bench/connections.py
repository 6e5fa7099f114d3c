"""TCP connections the thread-pool Fetcher opens for requests spread over many hosts (bench only).

    python bench/connections.py [--hosts 500] [--per-host 20] [--threads 8]

A server in a child process listens on HOSTS loopback addresses (127.0.0.1, 127.0.0.2, …: each
another host to linkwatch), answers every request with a small 200 over keep-alive,
and counts the connections it accepts. The Fetcher then GETs HOSTS × PER_HOST URLs in the order a
run fetches them (host by host in turn, linkwatch.schedule) from THREADS threads. Prints requests,
connections accepted and wall seconds.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVER = r'''
import asyncio, sys
accepted = 0
BODY = b"%PDF-1.4 " + b"x" * 200
RESP = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n\r\n" % len(BODY)
async def serve(reader, writer):
    global accepted
    accepted += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(RESP if head.startswith(b"HEAD") else RESP + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main(n):
    # 127.0.0.0/8 is all loopback: each address is another host to linkwatch.
    hosts = [f"127.0.{k // 250}.{k % 250 + 1}" for k in range(n)]
    servers = [await asyncio.start_server(serve, h, 0, backlog=1024) for h in hosts]
    print(" ".join("%s:%d" % s.sockets[0].getsockname()[:2] for s in servers), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    print(accepted, flush=True)
asyncio.run(main(int(sys.argv[1])))
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--per-host", type=int, default=20)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    from linkwatch.http.client import FetchConfig
    from linkwatch.http.fetcher import Fetcher
    from linkwatch.schedule import by_host

    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.hosts)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        hosts = server.stdout.readline().split()  # type: ignore[union-attr]
        urls = [f"http://{host}/doc/{i}.pdf" for host in hosts for i in range(args.per_host)]
        with tempfile.TemporaryDirectory() as tmp, \
                Fetcher(FetchConfig(per_host=2, min_interval=0, retries=0)) as fetcher, \
                ThreadPoolExecutor(args.threads) as pool:
            started = time.perf_counter()
            results = list(pool.map(lambda u: fetcher.fetch(u, Path(tmp)), by_host(urls, str)))
            wall = time.perf_counter() - started
        for r in results:
            if r.body_path is not None:
                Path(r.body_path).unlink(missing_ok=True)
        failed = sum(r.http_status != 200 for r in results)
    finally:
        out, _ = server.communicate("")
    print(f"{len(urls)} requests over {args.hosts} hosts, {args.threads} threads: "
          f"{int(out.split()[-1])} connections accepted, {failed} failed, {wall:.2f} s")


if __name__ == "__main__":
    main()
