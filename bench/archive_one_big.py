"""linkwatch archive of one ~100 MiB PDF-like file from the in-process test server (3 runs, median).

A quick before/after probe for the record stage (blob store + WARC writing); the server shares
the process, so absolute figures are lower than bench/compare.py's. usage: python bench/archive_one_big.py
"""
import sys, time, tempfile, shutil
HERE = __import__("pathlib").Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]
from pathlib import Path
from httpserver import LocalServer, Content
import linkwatch
pdfs = sorted((HERE.parent / "tests" / "fixtures" / "pdfs").glob("*.pdf"))
data = b"".join(p.read_bytes() for p in pdfs)
body = data * (100 * 2**20 // len(data))
with LocalServer() as s:
    s.route("/big.pdf", Content(body, "application/pdf"))
    m = Path(tempfile.mkdtemp()) / "m.toml"
    m.write_text(f'[[document]]\nid = "big"\nurl = "{s.url("/big.pdf")}"\n')
    ts = []
    for _ in range(3):
        a = tempfile.mkdtemp()
        t = time.perf_counter(); linkwatch.archive(m, archive=a, min_interval=0, progress=False); ts.append(time.perf_counter() - t)
        shutil.rmtree(a)
    ts.sort(); print(f"archive {len(body)/2**20:.0f} MiB: median {ts[1]:.2f}s = {len(body)/2**20/ts[1]:.0f} MiB/s")
