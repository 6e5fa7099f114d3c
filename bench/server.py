"""The benchmark's server: generated sites served by nginx on 127.0.0.1, with an access log that
counts requests and body bytes (bench only; see bench/compare.py).

    python bench/server.py avail N       # build bench/.work/avail-N and serve it until Ctrl-C
    python bench/server.py verify N      # N URLs cycling over the real fixture PDFs

Sites (under bench/.work/, gitignored):

- ``avail-N``: N unique URLs — 79% small generated PDFs (/doc/, ~700 bytes), 10% HTML pages
  (/page/), 5% 404s (/missing/: no file, the seeded broken set), 5% 301 redirects (/moved/ →
  /doc/), 1% slow PDFs (/slow/: 20 KB sent at 64 KB/s by nginx ``limit_rate``, ~0.3 s). Plus ``/index.html`` linking
  every URL (LinkChecker, linkinator), ``urls.txt`` (lychee) and ``manifest.toml`` (linkwatch).
- ``verify-N``: N URLs /v/I.pdf, hard links to the ten real UN PDFs of tests/fixtures/pdfs in turn,
  and a manifest citing each with its symbol: A_78_1 (the ODS placeholder) and E_2024_1 (another
  document) are the seeded wrong documents.
- ``bulk``: 100 PDFs of 10 MiB (a real fixture plus a 10 MiB random attachment, each unique) and one
  of 500 MiB (/big/big.pdf): archive throughput and peak RSS.

Every response carries ``LinkChecker: bench`` (LinkChecker exceeds 10 requests/s per host only for a
server sending that header); /robots.txt allows everything. nginx runs one worker process.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
# BENCH_WORK gives each concurrent user of the harness its own generated sites and logs.
WORK = Path(os.environ.get("BENCH_WORK", HERE / ".work")).resolve()
FIXTURES = HERE.parent / "tests" / "fixtures" / "pdfs"

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{ application/pdf pdf; text/html html; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 120;
    client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
    log_format counts '$request_method $status $body_bytes_sent $uri';
    access_log {work}/access.log counts;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        add_header LinkChecker bench always;
        location = /robots.txt {{ return 200 "User-agent: *\\nAllow: /\\n"; }}
        location /slow/ {{ sendfile off; output_buffers 1 4k; limit_rate 64k; }}
        location ~ ^/moved/(.+)$ {{ return 301 /doc/$1; }}
    }}
}}
"""


def small_pdf(symbol: str, title: str, pad: int = 0) -> bytes:
    """A one-page PDF whose page 1 reads like a UN masthead (for pypdf and pdftotext alike)."""
    lines = ["United Nations " + symbol, "General Assembly", "Distr.: General", "", title]
    ops = ["BT /F1 11 Tf 72 760 Td 14 TL"] + [f"({ln.replace('(', '[').replace(')', ']')}) Tj T*" for ln in lines] + ["ET"]
    stream = "\n".join(ops).encode("latin-1")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    if pad:  # a comment after the header: the xref offsets below still hold
        out.write(b"%" + b"x" * pad + b"\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def _manifest(entries: list[tuple]) -> str:
    """(id, url, symbol or None, kind[, lang]) → manifest TOML (lang "en" unless given)."""
    out = ['[manifest]\ntitle = "bench"\n\n[defaults]\nlang = "en"\n']
    for doc_id, url, symbol, kind, *lang in entries:
        out.append(f'[[document]]\nid = "{doc_id}"\nurl = "{url}"\n' + (f'symbol = "{symbol}"\n' if symbol else "")
                   + (f'kind = "{kind}"\n' if kind != "pdf" else "")
                   + (f'lang = "{lang[0]}"\n' if lang and lang[0] != "en" else ""))
    return "\n".join(out)


def build_avail(n: int, base: str) -> Path:
    """The availability site of ``n`` URLs; returns its folder (rebuilt only when missing)."""
    root = WORK / f"avail-{n}"
    if (root / "manifest.toml").exists():
        return root
    tmp = root.with_name(root.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    for d in ("doc", "page", "slow"):
        (tmp / d).mkdir(parents=True)
    entries, broken = [], []
    for i in range(n):
        share = i % 100
        if share < 79:
            kind, path = "pdf", f"/doc/{i}.pdf"
        elif share < 88:
            kind, path = "page", f"/page/{i}.html"
        elif share < 93:
            kind, path = "pdf", f"/missing/{i}.pdf"
            broken.append(path)
        elif share < 99:
            kind, path = "pdf", f"/moved/m{i}.pdf"
        else:
            kind, path = "pdf", f"/slow/{i}.pdf"
        symbol = f"A/BENCH/{i}"
        if kind == "page":
            (tmp / path[1:]).write_text(f"<!doctype html><html><head><title>Page {i}</title></head>"
                                        f"<body><p>{'Lorem ipsum dolor sit amet. ' * 20}</p></body></html>\n")
        elif path.startswith("/doc/"):
            (tmp / path[1:]).write_bytes(small_pdf(symbol, f"Benchmark document number {i}"))
        elif path.startswith("/moved/"):
            (tmp / "doc" / f"m{i}.pdf").write_bytes(small_pdf(symbol, f"Benchmark document number {i}"))
        elif path.startswith("/slow/"):
            (tmp / path[1:]).write_bytes(small_pdf(symbol, f"Benchmark document number {i}", pad=20000))
        entries.append((f"d{i}", base + path, symbol if kind == "pdf" else None, kind))
    (tmp / "index.html").write_text("<!doctype html><html><head><title>bench</title></head><body>\n" + "".join(
        f'<a href="{base}{urlpath(e[1])}">{e[0]}</a>\n' for e in entries) + "</body></html>\n")
    (tmp / "urls.txt").write_text("".join(e[1] + "\n" for e in entries))
    (tmp / "manifest.toml").write_text(_manifest(entries))
    (tmp / "broken.txt").write_text("".join(base + p + "\n" for p in broken))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def fixture_truth() -> list[tuple[str, str, str]]:
    """(file, first symbol on page 1 per the TSV — for the two wrong files, the symbol they are
    filed as —, language of the file)."""
    import csv

    rows = list(csv.DictReader((FIXTURES / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
    cited = {"A_78_1.en.pdf": "A/78/1", "E_2024_1.en.pdf": "E/2024/1"}  # what they are filed as
    return [(r["file"], cited.get(r["file"]) or r["symbols_on_page1"].split(";")[0],
             "en" if r["file"] in cited else r["lang"]) for r in rows]


def build_verify(n: int, base: str) -> Path:
    root = WORK / f"verify-{n}"
    if (root / "manifest.toml").exists():
        return root
    tmp = root.with_name(root.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "v").mkdir(parents=True)
    truth, entries, wrong = fixture_truth(), [], []
    for i in range(n):
        file, symbol, lang = truth[i % len(truth)]
        os.link(FIXTURES / file, tmp / "v" / f"{i}.pdf")
        entries.append((f"v{i}", f"{base}/v/{i}.pdf", symbol, "pdf", lang))
        if file in ("A_78_1.en.pdf", "E_2024_1.en.pdf"):
            wrong.append(f"{base}/v/{i}.pdf")
    (tmp / "urls.txt").write_text("".join(e[1] + "\n" for e in entries))
    (tmp / "manifest.toml").write_text(_manifest(entries))
    (tmp / "broken.txt").write_text("".join(u + "\n" for u in wrong))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def build_bulk(base: str, files: int = 100, size: int = 10 * 2**20, big: int = 500 * 2**20) -> Path:
    """100 × 10 MiB unique PDFs (1000 MiB) and one 500 MiB PDF, each a real page 1 + an attachment."""
    from pypdf import PdfWriter

    root = WORK / "bulk"
    if (root / "manifest.toml").exists():
        return root
    tmp = root.with_name("bulk.new")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "b").mkdir(parents=True)
    (tmp / "big").mkdir()

    def write(path: Path, nbytes: int) -> None:
        w = PdfWriter(clone_from=str(FIXTURES / "A_80_62.en.pdf"))
        w.add_attachment("data.bin", os.urandom(nbytes))
        with path.open("wb") as f:
            w.write(f)

    entries = []
    for i in range(files):
        write(tmp / "b" / f"{i}.pdf", size)
        entries.append((f"b{i}", f"{base}/b/{i}.pdf", "A/80/62", "pdf"))
    (tmp / "urls.txt").write_text("".join(e[1] + "\n" for e in entries))
    (tmp / "manifest.toml").write_text(_manifest(entries))
    write(tmp / "big" / "big.pdf", big)
    (tmp / "big.toml").write_text(_manifest([("big", f"{base}/big/big.pdf", "A/80/62", "pdf")]))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx serving ``root`` on 127.0.0.1:port (a fixed port: the sites embed their URLs)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.work = WORK / f"nginx-{port}"
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        self.log = self.work / "access.log"
        self.log.touch()
        conf = self.work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=self.work, port=port, root=root))
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.work)])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start; see " + str(self.work / "nginx-error.log"))

    def mark(self) -> int:
        return self.log.stat().st_size

    def counts(self, since: int) -> dict[str, object]:
        """Requests, body bytes, methods and statuses logged since ``mark()`` returned ``since``."""
        time.sleep(0.2)  # let nginx finish writing the last lines
        with self.log.open("rb") as f:
            f.seek(since)
            lines = f.read().decode().splitlines()
        methods, statuses, body = Counter(), Counter(), 0
        for line in lines:
            method, status, sent, _ = line.split(" ", 3)
            methods[method] += 1
            statuses[status] += 1
            body += int(sent)
        return {"requests": len(lines), "body_bytes": body, "methods": dict(methods), "statuses": dict(statuses)}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    port = int(os.environ.get("BENCH_PORT", "18080"))
    base = f"http://127.0.0.1:{port}"
    root = {"avail": lambda: build_avail(n, base), "verify": lambda: build_verify(n, base),
            "bulk": lambda: build_bulk(base)}[kind]()
    server = Nginx(root, port)
    print(f"serving {root} at {base}/ (Ctrl-C stops)", flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        server.stop()
