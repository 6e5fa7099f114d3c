"""Hostile PDFs (tests/hostile_files.py): each is reported, the worker replaced, the run goes on,
and the main process's memory stays bounded.

Two levels: the sandboxed :class:`Inspector` itself (each file's error kind, worker replacement),
and `linkwatch check` end to end in a child process over every file served by a local server,
whose peak RSS (``VmHWM`` of the main process, workers excluded) is measured.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_files import HOSTILE, write_all
from httpserver import Content, LocalServer

from linkwatch.pdf.inspect import Inspector, resolve_engine

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
GOOD = PDFS / "TD_B_43_6.en.pdf"
INSPECT_TIMEOUT = 2.0  # the operator flood needs ~4 s to exhaust 1 GiB: it must time out first
PEAK_RSS_LIMIT_MB = 300


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_all(tmp_path_factory.mktemp("hostile-pdfs"))


@pytest.fixture(scope="module")
def inspector() -> Iterator[Inspector]:
    with Inspector(workers=1, timeout=INSPECT_TIMEOUT) as ins:
        yield ins


def test_the_set_is_what_it_claims(hostile: dict[str, Path]) -> None:
    import zlib

    bomb = hostile["flate-bomb.pdf"].read_bytes()
    assert len(bomb) < 1_100_000
    stream = bomb[bomb.index(b"stream\n") + 7: bomb.rindex(b"\nendstream")]
    inflated, d = 0, zlib.decompressobj()
    for i in range(0, len(stream), 1 << 16):
        inflated += len(d.decompress(stream[i:i + (1 << 16)], 1 << 24))
        while d.unconsumed_tail:
            inflated += len(d.decompress(d.unconsumed_tail, 1 << 24))
    assert inflated >= 1 << 30 and d.eof  # a real, complete gigabyte
    assert hostile["operators.pdf"].stat().st_size < 100_000
    assert zlib.decompress(hostile["operators.pdf"].read_bytes().split(b"stream\n")[1].split(b"\nendstream")[0]
                           ).count(b" Tj") == 2_000_000
    assert hostile["zip.pdf"].read_bytes()[:2] == b"PK"


def _expected(name: str, engine: str) -> str | None:
    """HOSTILE's expectation for the engine at work: pdftotext reads the operator flood in ~0.4 s
    (pypdf needs minutes), so under poppler it is read, with nothing to verify, not timed out."""
    return None if (name, engine) == ("operators.pdf", "poppler") else HOSTILE[name][1]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_file_is_reported_and_the_next_file_still_inspected(
        inspector: Inspector, hostile: dict[str, Path], name: str) -> None:
    expected = _expected(name, inspector.engine)
    before = inspector.pids()
    got = inspector.inspect(hostile[name])
    if expected is None:  # survived by pypdf: read, but nothing to verify on page 1
        assert got.error is None and got.symbols == []
    elif expected.endswith(":"):
        assert got.error and got.error.startswith(expected), got.error
    else:
        assert got.error == expected
    if expected in ("timeout", "memory"):
        assert inspector.pids() != before or not before  # the worker was replaced
    after = inspector.inspect(GOOD)
    assert after.error is None and after.symbols == ["TD/B/43/6"]


_CHILD = textwrap.dedent("""
    import json, sys, time
    import linkwatch
    t0 = time.monotonic()
    report = linkwatch.check(sys.argv[1], archive=sys.argv[2], min_interval=0, backoff=0.05, timeout=5,
                             retries=0, progress=False, inspect_timeout=float(sys.argv[3]))
    print(json.dumps({
        "elapsed": time.monotonic() - t0,
        # VmHWM, not ru_maxrss: Linux carries the high-water mark of the image before exec into
        # ru_maxrss, so a child of a 300 MB pytest reported 300 MB whatever linkwatch used.
        "peak_rss_mb": next(int(line.split()[1]) for line in open("/proc/self/status")
                            if line.startswith("VmHWM:")) / 1024,  # kB
        "docs": {d.id: [d.status, d.findings[0].message if d.findings else ""] for d in report.documents},
    }))
""")


def test_a_run_over_every_hostile_file_reports_each_and_keeps_main_memory_bounded(
        hostile: dict[str, Path], tmp_path: Path) -> None:
    with LocalServer() as server:
        entries = []
        for name, path in hostile.items():
            server.route(f"/{name}", Content(path.read_bytes(), "application/pdf"))
            entries.append((name.removesuffix(".pdf"), server.url(f"/{name}")))
        for i in (1, 2):  # good documents before and after: the run goes on
            server.route(f"/good{i}.pdf", Content.file(GOOD, "application/pdf"))
            entries.insert(0 if i == 1 else len(entries), (f"good-{i}", server.url(f"/good{i}.pdf")))
        manifest = tmp_path / "hostile.toml"
        manifest.write_text("".join(f'[[document]]\nid = "{i}"\nsymbol = "TD/B/43/6"\nurl = "{u}"\n\n'
                                    for i, u in entries))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", _CHILD, str(manifest), str(tmp_path / "archive"),
                               str(INSPECT_TIMEOUT)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    docs = out["docs"]
    assert docs["good-1"][0] == docs["good-2"][0] == "ok"
    engine = resolve_engine()  # the child's: same environment
    for name in HOSTILE:
        expected = _expected(name, engine)
        status, message = docs[name.removesuffix(".pdf")]
        if name in ("zip.pdf", "html.pdf"):  # judged by their bytes: never handed to pypdf
            assert status == "wrong-type" and "expected a PDF" in message, (name, message)
        elif expected is None:
            assert status == "unverified" and "no document symbol" in message, (name, message)
        else:
            assert status == "unverified" and message.startswith(f"inspect-failed: {expected}"), (name, message)
    # Measured 91-123 MB on the development machine (the 1 GiB bomb, the operator flood and the rest
    # all went to the sandboxed workers); the bound is generous so CI noise cannot trip it.
    assert out["peak_rss_mb"] < PEAK_RSS_LIMIT_MB, out
    print(f"peak RSS of the main process: {out['peak_rss_mb']:.0f} MB; run {out['elapsed']:.1f} s")


def test_pypdf_is_pinned_to_a_release_with_the_recent_dos_fixes() -> None:
    import re

    import pypdf

    pyproject = (ROOT / "pyproject.toml").read_text()
    floor = re.search(r'"pypdf>=([0-9.]+)', pyproject)
    assert floor, "pypdf must have a minimum version"
    as_tuple = lambda v: tuple(int(x) for x in v.split(".")[:3])  # noqa: E731
    # 6.16.1 is the first release with every denial-of-service fix advertised up to 2026-09
    # (outline and XForm extraction blow-ups); the floor must not be below it.
    assert as_tuple(floor.group(1)) >= (6, 16, 1)
    assert as_tuple(pypdf.__version__) >= as_tuple(floor.group(1))
