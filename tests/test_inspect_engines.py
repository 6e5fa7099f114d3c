"""The two page-1 engines (poppler's pdftotext, pypdf) against each other, and the sandbox around
pdftotext: the same Inspection on every real fixture, hostile files still reported one by one,
pdftotext under the worker's address-space limit and killed with it, and bounded memory on a
500 MiB PDF whichever engine reads it.

Without pdftotext the poppler tests are skipped, unless LINKWATCH_REQUIRE_POPPLER=1 (set by
.ci/run once it has installed poppler-utils): then they fail.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hostile_files import _FONT, HOSTILE, _one_page, _pdf, flate_bomb, write_all
from pypdf import PdfReader

from linkwatch.pdf.inspect import (
    ENGINE_ENV, PDFTOTEXT_ARGS, Inspection, Inspector, from_bbox, read_page, read_pdf, resolve_engine,
)

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
FIXTURES = sorted(PDFS.glob("*.pdf"))
GOOD = PDFS / "TD_B_43_6.en.pdf"

HAVE_POPPLER = shutil.which("pdftotext") is not None
needs_poppler = pytest.mark.skipif(
    not HAVE_POPPLER and os.environ.get("LINKWATCH_REQUIRE_POPPLER") != "1",
    reason="pdftotext (poppler-utils) is not installed",
)
ENGINES = ["pypdf", pytest.param("poppler", marks=needs_poppler)]


@needs_poppler
def test_both_engines_give_the_same_inspection_of_every_fixture() -> None:
    assert len(FIXTURES) == 10
    with Inspector(workers=1, engine="pypdf") as slow, Inspector(workers=1, engine="poppler") as fast:
        assert (slow.engine, fast.engine) == ("pypdf", "poppler")
        for pdf in FIXTURES:
            by_pypdf, by_poppler = slow.inspect(pdf), fast.inspect(pdf)
            assert by_pypdf.error is None and by_pypdf.symbols or by_pypdf.placeholder, pdf.name
            assert by_poppler == by_pypdf, pdf.name  # every field: symbols, title, lang, pages, flags


@needs_poppler
def test_pdftotext_output_alone_reads_every_fixture_as_pypdf_does() -> None:
    """The engines agree on the text itself, not through the poppler engine's fallback to pypdf
    (taken when pdftotext fails): page-1 facts from pdftotext's output alone."""
    for pdf in FIXTURES:
        out = subprocess.run(["pdftotext", *PDFTOTEXT_ARGS, str(pdf), "-"], capture_output=True, check=True).stdout
        page = from_bbox(out)
        meta = PdfReader(pdf).metadata
        by_poppler = read_page(page, meta.title if meta else None)
        by_pypdf = read_pdf(pdf)
        by_poppler.pages = by_pypdf.pages
        assert by_poppler == by_pypdf, pdf.name


def test_engine_selection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert resolve_engine("pypdf") == "pypdf"
    assert resolve_engine() == ("poppler" if HAVE_POPPLER else "pypdf")  # auto
    monkeypatch.setenv(ENGINE_ENV, "pypdf")
    assert resolve_engine() == "pypdf" and Inspector(engine=None).engine == "pypdf"
    assert resolve_engine("auto") == ("poppler" if HAVE_POPPLER else "pypdf")  # the argument wins
    with pytest.raises(ValueError, match="unknown inspection engine"):
        resolve_engine("mupdf")
    # No pdftotext on PATH: auto falls back to pypdf, an explicit poppler is refused.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(ENGINE_ENV)
    assert resolve_engine() == "pypdf"
    with pytest.raises(ValueError, match="poppler-utils"):
        Inspector(engine="poppler")


@needs_poppler
def test_hostile_files_through_poppler(tmp_path: Path) -> None:
    """Each is reported, the pool goes on. pypdf still opens every file first, so the errors are
    the pypdf engine's, except the operator flood: pdftotext reads its 2 million operators in
    ~0.4 s (pypdf needs minutes), so it is read, with nothing to verify, instead of timing out."""
    hostile = write_all(tmp_path)
    with Inspector(workers=1, timeout=5, engine="poppler") as ins:
        for name, path in sorted(hostile.items()):
            expected = None if name == "operators.pdf" else HOSTILE[name][1]
            got = ins.inspect(path)
            if expected is None:
                assert got.error is None and got.symbols == [], (name, got)
            elif expected.endswith(":"):
                assert got.error and got.error.startswith(expected), (name, got.error)
            else:
                assert got.error == expected, (name, got.error)
            after = ins.inspect(GOOD)
            assert after.error is None and after.symbols == ["TD/B/43/6"], name


def _xobject_bomb(path: Path) -> Path:
    """Page 1 draws a form XObject whose stream inflates to 4 GiB of zeros (4 MB): pypdf's check of
    the page's own content streams passes, and pdftotext streams the zeros for ~20 s."""
    bomb = flate_bomb(4 << 30)
    body = bomb[bomb.index(b"stream\n") + 7: bomb.rindex(b"\nendstream")]
    form_dict = (b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
                 b"/Length %d /Filter /FlateDecode >>\nstream\n" % len(body))
    form = form_dict + body + b"\nendstream"
    content = b"BT /F1 12 Tf 72 720 Td (United Nations A/79/1) Tj ET /X1 Do"
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >> /Contents 4 0 R >>")
    path.write_bytes(_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        _FONT,
        form,
    ]))
    return path


def _processes_reading(path: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if str(path).encode() in argv and state != "Z":  # a zombie is dead, only not yet reaped
                pids.append(int(entry.name))
    return pids


@needs_poppler
def test_pdftotext_runs_under_the_memory_limit_and_dies_with_its_worker(tmp_path: Path) -> None:
    bomb = _xobject_bomb(tmp_path / "xobject-bomb.pdf")
    with Inspector(workers=1, timeout=3, memory_mb=512, engine="poppler") as ins:
        assert ins.inspect(GOOD).symbols == ["TD/B/43/6"]  # the worker is up
        result: list[Inspection] = []
        call = threading.Thread(target=lambda: result.append(ins.inspect(bomb)))
        call.start()
        deadline, seen = time.monotonic() + 2.5, []
        while not seen and time.monotonic() < deadline:
            seen = _processes_reading(bomb)
            time.sleep(0.02)
        assert seen, "pdftotext never started"
        [pid] = seen
        assert Path(f"/proc/{pid}/exe").resolve().name == "pdftotext"
        limits = Path(f"/proc/{pid}/limits").read_text()
        address_space = next(ln for ln in limits.splitlines() if ln.startswith("Max address space"))
        assert address_space.split()[3] == str(512 * 2**20)  # the worker's RLIMIT_AS, inherited
        call.join(10)
        assert result and result[0].error == "timeout"
        deadline = time.monotonic() + 2
        while _processes_reading(bomb) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _processes_reading(bomb) == []  # killed with the worker's process group
        assert ins.inspect(GOOD).symbols == ["TD/B/43/6"]  # a fresh worker


def _padded(src: Path, dest: Path, pad: int) -> Path:
    """``src`` plus an incremental update adding one ``pad``-byte stream (an attachment's worth),
    written sparse: a 512 MiB PDF in a millisecond and almost no disk."""
    data = src.read_bytes()
    trailer = PdfReader(src).trailer
    size, root = int(trailer["/Size"]), trailer.raw_get("/Root")
    prev = int(data.rsplit(b"startxref", 1)[1].split()[0])
    with dest.open("wb") as f:
        f.write(data + b"\n")
        offset = f.tell()
        f.write(b"%d 0 obj\n<< /Length %d >>\nstream\n" % (size, pad))
        f.seek(pad, os.SEEK_CUR)  # a hole: reads back as zeros
        f.write(b"\nendstream\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %d %d R /Prev %d >>\n"
                b"startxref\n%d\n%%%%EOF\n" % (size, offset, size + 1, root.idnum, root.generation, prev, xref))
    return dest


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    from linkwatch.pdf.inspect import Inspector
    with Inspector(workers=1, engine=sys.argv[2]) as ins:
        got = ins.inspect(sys.argv[1])
    # The worker (and the pdftotext it ran) are reaped by close(): their peak RSS is here.
    print(json.dumps({"inspection": got.to_dict(),
                      "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
""")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_500_mib_pdf_is_inspected_in_bounded_memory(tmp_path: Path, engine: str) -> None:
    big = _padded(PDFS / "A_80_62.en.pdf", tmp_path / "big.pdf", 512 * 2**20)
    assert big.stat().st_size > 512 * 2**20
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(big), engine], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    got = out["inspection"]
    assert got["error"] is None and got["symbols"] == ["A/80/62", "E/2025/12"] and got["pages"] == 19
    # Reading the file whole (pypdf given a path) made this 560 MB; lazily, ~40 MB.
    assert out["peak_mb"] < 150, out


@needs_poppler
def test_small_pdfs_skip_the_pdftotext_start_up(tmp_path: Path) -> None:
    # Starting pdftotext (~5 ms) costs more than pypdf reading a tiny page 1 (~1 ms): files under
    # POPPLER_MIN_SIZE are read by pypdf alone, larger ones by pdftotext. A pdftotext that leaves a
    # mark when started tells which.
    from linkwatch.pdf.inspect import POPPLER_MIN_SIZE, read_pdf_poppler

    mark = tmp_path / "started"
    spy = tmp_path / "pdftotext"
    spy.write_text(f'#!/bin/sh\ntouch "{mark}"\nexec "{shutil.which("pdftotext")}" "$@"\n')
    spy.chmod(0o755)
    small = tmp_path / "small.pdf"
    text = b"BT /F1 12 Tf 72 720 Td (United Nations A/80/1) Tj ET"
    small.write_bytes(_one_page(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text)))
    assert small.stat().st_size < POPPLER_MIN_SIZE <= GOOD.stat().st_size
    assert read_pdf_poppler(small, str(spy)) == read_pdf(small) and not mark.exists()
    assert read_pdf_poppler(GOOD, str(spy)) == read_pdf(GOOD) and mark.exists()


def test_structure_check_counts_pages_without_loading_every_page(tmp_path: Path) -> None:
    """The poppler engine's pypdf side: the catalog's /Count and page 1 down the first kids; a tree
    without /Count falls back to pypdf's full walk (and its errors)."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    from linkwatch.pdf.engines import _check_structure, _reader

    for pdf in FIXTURES:
        with _reader(pdf) as reader:
            assert _check_structure(reader) == len(PdfReader(pdf).pages), pdf.name
    writer = PdfWriter(clone_from=GOOD)
    del writer.root_object["/Pages"][NameObject("/Count")]
    odd = tmp_path / "no-count.pdf"
    writer.write(odd)
    with _reader(odd) as reader:
        assert _check_structure(reader) == len(PdfReader(GOOD).pages)


def test_inspect_files_keeps_every_worker_busy_and_keeps_the_order() -> None:
    from linkwatch.pdf.inspect import inspect_files

    seen: set[int] = set()
    with Inspector(workers=2, engine="pypdf") as ins:
        original = ins._call_once

        def spy(message: dict, timeout: float | None) -> dict:
            seen.update(ins.pids())
            time.sleep(0.2)  # long enough for the second thread to take the other worker
            return original(message, timeout)

        ins._call_once = spy  # type: ignore[method-assign]
        got = inspect_files(FIXTURES[:6], ins)
    assert [p for p, _ in got] == [str(p) for p in FIXTURES[:6]]
    assert len(seen) == 2
