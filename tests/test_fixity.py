"""Fixity over everything kept: WARC files re-read, symlinks refused, ingest heals a damaged blob,
and ``verify`` run while ``archive`` runs reports nothing false."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpserver import Content, Delay, LocalServer
from warcio.archiveiterator import ArchiveIterator

import linkwatch
from linkwatch.cli import main
from linkwatch.run import _run_tmp

ROOT = Path(__file__).resolve().parent.parent
PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)
RES = PDFS / "A_RES_78_323.en.pdf"
RES_SHA256 = "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"


@pytest.fixture
def archive(server: LocalServer, tmp_path: Path) -> Path:
    url = server.route("/res.pdf", Content.file(RES, "application/pdf", etag=None, last_modified=None))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n')
    path = tmp_path / "archive"
    linkwatch.archive(manifest, archive=path, **FAST)
    return path


def blob(archive: Path) -> Path:
    return archive / "blobs" / "sha256" / RES_SHA256[:2] / RES_SHA256[2:4] / RES_SHA256


def the_warc(archive: Path) -> Path:
    [warc] = (archive / "warc").glob("*.warc.gz")
    return warc


def test_verify_rereads_warc_records(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = linkwatch.verify(archive=archive)
    assert report.ok and report.warc_files == 1 and report.warc_records == 4  # warcinfo, request, response, metadata
    assert main(["verify", "--archive", str(archive)]) == 0
    assert "and 4 records in 1 WARC file(s): all match" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["half", "member", "flip"])
def test_a_damaged_warc_is_a_problem(archive: Path, damage: str) -> None:
    warc = the_warc(archive)
    data = warc.read_bytes()
    if damage == "half":  # cut mid-record: the record is shorter than its Content-Length
        warc.write_bytes(data[: len(data) // 2])
    elif damage == "member":  # cut at a record boundary: the response the index points at is gone
        with open(warc, "rb") as fh:
            records = ArchiveIterator(fh)
            response = next(records.get_record_offset() for r in records if r.rec_type == "response")
        warc.write_bytes(data[:response])
    else:  # one bit of the stored PDF payload
        middle = len(data) // 2
        warc.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:])
    report = linkwatch.verify(archive=archive)
    assert not report.ok and {p.warc for p in report.problems} == {warc.name}
    kinds = {p.kind for p in report.problems}
    if damage == "flip":  # the gzip member's CRC fails, so the record also reads short
        assert "changed" in kinds and kinds <= {"changed", "incomplete"}, report.problems
    else:
        assert kinds == {"incomplete"}, report.problems
    events = [e for e in linkwatch.events(archive=archive) if e.kind == "fixity-check" and e.sha256 is None]
    assert [e.outcome for e in events] == ["failure"]


def test_a_missing_warc_and_a_symlinked_blob_are_problems(archive: Path, tmp_path: Path) -> None:
    warc = the_warc(archive)
    warc.unlink()
    elsewhere = tmp_path / "same-bytes.pdf"
    elsewhere.write_bytes(RES.read_bytes())
    blob(archive).unlink()
    blob(archive).symlink_to(elsewhere)
    report = linkwatch.verify(archive=archive)
    assert {(p.kind, p.warc) for p in report.problems} == {("missing", warc.name), ("changed", None)}
    assert "symbolic link" in next(p.detail for p in report.problems if p.kind == "changed")


def test_ingest_heals_a_damaged_blob_from_a_good_download(archive: Path, tmp_path: Path) -> None:
    data = blob(archive).read_bytes()
    blob(archive).write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    assert not linkwatch.verify(archive=archive).ok
    linkwatch.archive(tmp_path / "m.toml", archive=archive, **FAST)  # no validators: fetched in full again
    assert blob(archive).read_bytes() == RES.read_bytes()
    assert linkwatch.verify(archive=archive).ok
    repairs = [e for e in linkwatch.events("res", archive=archive) if e.kind == "repair"]
    assert [(e.outcome, e.sha256) for e in repairs] == [("success", RES_SHA256)]


def test_a_running_archives_files_are_pending_not_unknown(archive: Path) -> None:
    """Deterministic: a live run (its lock held) has stored a blob it has not recorded yet."""
    stray = archive / "blobs" / "sha256" / "ab" / "cd" / ("abcd" + "0" * 60)
    folder, lock = _run_tmp(archive / "tmp", 99)
    try:
        stray.parent.mkdir(parents=True)
        stray.write_bytes(b"being recorded")
        report = linkwatch.verify(archive=archive)
        assert report.ok and report.pending == 1
    finally:
        os.close(lock)
    report = linkwatch.verify(archive=archive)  # the run is gone and never recorded it: unknown
    assert [p.kind for p in report.problems] == ["unknown"]


def test_verify_concurrent_with_archive_reports_no_false_problems(server: LocalServer, tmp_path: Path) -> None:
    """A real run: documents answer slowly, so blobs are stored and WARCs written while verify reads."""
    docs = ["A_RES_78_323.en.pdf", "A_79_716.en.pdf", "TD_B_43_6.en.pdf", "A_80_62.en.pdf",
            "S_RES_2768_2025.en.pdf", "E_2025_15_Add.1_Rev.1.en.pdf"]
    lines = []
    for i, name in enumerate(docs):
        url = server.route(f"/{i}.pdf", Delay(0.3 * i, Content.file(PDFS / name, "application/pdf")))
        lines.append(f'[[document]]\nid = "d{i}"\nurl = "{url}"\n')
    manifest = tmp_path / "m.toml"
    manifest.write_text("\n".join(lines))
    archive = tmp_path / "archive"
    linkwatch.check(manifest, archive=archive, **FAST)  # the index exists before verify starts
    command = [sys.executable, "-m", "linkwatch", "archive", str(manifest), "--archive", str(archive),
               "--min-interval", "0", "--no-progress", "--fail-on", "never", "--concurrency", "2"]
    checks = 0
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as run:
        deadline = time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline:
            report = linkwatch.verify(archive=archive)
            assert report.ok, report.problems
            checks += 1
        assert run.wait(timeout=60) == 0
    final = linkwatch.verify(archive=archive)
    assert final.ok and final.pending == 0 and final.total == len(docs) and checks >= 2


# ------------------------------------------------------------------- forged WARC records and files

def _rewrite(warc: Path, change) -> None:
    """Rewrite ``warc`` record by record through ``change(record, writer)`` (which writes what it
    wants), letting warcio compute fresh, self-consistent digests: what a forger would do."""
    from warcio.warcwriter import WARCWriter

    out = warc.with_suffix(".new")
    with open(warc, "rb") as fh, open(out, "wb") as dest:
        writer = WARCWriter(dest, gzip=True)
        for record in ArchiveIterator(fh):
            change(record, writer)
    out.replace(warc)


def _forged_response(writer, uri: str, record_id: str | None = None):
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders("200 OK", [("Content-Type", "application/pdf")], protocol="HTTP/1.1")
    headers = {"WARC-Record-ID": record_id} if record_id else None
    return writer.create_warc_record(uri, "response", payload=BytesIO(b"%PDF-1.4 forged replacement"),
                                     http_headers=http, warc_headers_dict=headers)


def test_a_response_replaced_with_fresh_digests_is_a_problem(archive: Path) -> None:
    def change(record, writer) -> None:
        if record.rec_type == "response":
            uri, rid = record.rec_headers.get_header("WARC-Target-URI"), record.rec_headers.get_header("WARC-Record-ID")
            writer.write_record(_forged_response(writer, uri, rid))
        else:
            writer.write_record(record)

    _rewrite(the_warc(archive), change)
    report = linkwatch.verify(archive=archive)
    assert not report.ok and any("does not hold the version the index recorded" in p.detail for p in report.problems)


def test_a_response_appended_after_the_run_is_a_problem(archive: Path) -> None:
    uri = []

    def change(record, writer) -> None:
        writer.write_record(record)
        if record.rec_type == "response":
            uri.append(record.rec_headers.get_header("WARC-Target-URI"))

    _rewrite(the_warc(archive), change)
    from warcio.warcwriter import WARCWriter

    with open(the_warc(archive), "ab") as fh:  # pywb replays the latest capture: this one
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(_forged_response(writer, uri[0]))
    report = linkwatch.verify(archive=archive)
    assert not report.ok and any("is not one the index recorded" in p.detail for p in report.problems)


def test_a_warc_file_no_run_wrote_is_unknown(archive: Path) -> None:
    planted = archive / "warc" / "linkwatch-20260101T000000Z-run99.warc.gz"
    planted.write_bytes(the_warc(archive).read_bytes())  # self-consistent, valid, and not ours
    report = linkwatch.verify(archive=archive)
    assert [(p.kind, p.warc) for p in report.problems] == [("unknown", planted.name)]


def test_a_real_archive_with_redirects_errors_pages_and_revisits_verifies_clean(
        server: LocalServer, tmp_path: Path) -> None:
    from httpserver import Redirect, Status, soft_404

    server.route("/res.pdf", Content.file(RES, "application/pdf"))
    server.route("/moved", Redirect("/res.pdf"))
    server.route("/gone", Status(404))
    server.route("/soft", soft_404())
    docs = [("res", "/res.pdf"), ("moved", "/moved"), ("gone", "/gone"), ("soft", "/soft")]
    manifest = tmp_path / "m.toml"
    manifest.write_text("".join(f'[[document]]\nid = "{i}"\nurl = "{server.url(p)}"\n\n' for i, p in docs))
    path = tmp_path / "archive"
    for _ in range(2):  # the second run: 304s and revisit records
        linkwatch.archive(manifest, archive=path, **FAST)
    report = linkwatch.verify(archive=path)
    assert report.ok and report.warc_files == 2, report.problems
