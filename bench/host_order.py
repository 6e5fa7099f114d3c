"""Head-of-line blocking by host: the same documents listed host by host, interleaved, and shuffled.

    python bench/host_order.py [--hosts 50] [--per-host-docs 10] [--runs 3] [--availability-only]

H small HTTP servers, one per loopback address (127.0.0.2 …: distinct hosts to linkwatch's per-host
limiter; 127.0.1.x beyond 250 hosts), each answering D tiny PDFs. One manifest per order; ``linkwatch check`` at its default
politeness (2 in flight and 0.2 s between starts per host, 8 documents in flight) on a fresh archive
each time. Prints the median wall time of each order and its ratio to the interleaved one (the
ideal: issue 16's target is every order within 1.5× of it). Loopback only; stops by itself.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import linkwatch  # noqa: E402

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, body: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(PDF)))
        self.end_headers()
        if body:
            self.wfile.write(PDF)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, *args: object) -> None:
        pass


def serve(hosts: int) -> list[ThreadingHTTPServer]:
    servers = []
    for i in range(hosts):
        srv = ThreadingHTTPServer((f"127.0.{i // 250}.{i % 250 + 2}", 0), _Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    return servers


def manifest(path: Path, urls: list[str]) -> Path:
    path.write_text("".join(f'[[document]]\nid = "d{i}"\nurl = "{u}"\n\n' for i, u in enumerate(urls)))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--per-host-docs", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--availability-only", action="store_true")
    args = ap.parse_args()
    servers = serve(args.hosts)
    by_host = [[f"http://{s.server_address[0]}:{s.server_address[1]}/{d}.pdf" for d in range(args.per_host_docs)]
               for s in servers]
    orders = {
        "host by host": [u for urls in by_host for u in urls],
        "interleaved": [urls[d] for d in range(args.per_host_docs) for urls in by_host],
        "shuffled": random.Random(7).sample([u for urls in by_host for u in urls], args.hosts * args.per_host_docs),
    }
    work = Path(tempfile.mkdtemp(prefix="host-order-"))
    times: dict[str, list[float]] = {name: [] for name in orders}
    try:
        for _ in range(args.runs):
            for name, urls in orders.items():
                archive = work / "archive"
                shutil.rmtree(archive, ignore_errors=True)
                m = manifest(work / "m.toml", urls)
                t0 = time.perf_counter()
                report = linkwatch.check(m, archive=archive, progress=False,
                                         availability_only=args.availability_only)
                times[name].append(time.perf_counter() - t0)
                assert all(d.http_status == 200 for d in report.documents), name
    finally:
        for s in servers:
            s.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    ideal = statistics.median(times["interleaved"])
    mode = "availability-only" if args.availability_only else "full check"
    print(f"{args.hosts} hosts x {args.per_host_docs} documents, {mode}, median of {args.runs}:")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:13s} {med:6.2f} s  ({med / ideal:.2f}x interleaved)")


if __name__ == "__main__":
    main()
