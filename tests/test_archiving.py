"""Archiving like a library: WARC records of every fetch, fixity audits, events, WARC export, migrations."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Redirect, Status
from warcio.archiveiterator import ArchiveIterator

import linkwatch
from linkwatch.cli import main
from linkwatch.store.index import MIGRATIONS, SCHEMA_VERSION, Index

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)
RES = PDFS / "A_RES_78_323.en.pdf"
RES_SHA256 = "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"
pytestmark = pytest.mark.usefixtures("backend")  # on the SQLite index and on PostgreSQL


@pytest.fixture
def site(server: LocalServer, tmp_path: Path) -> Path:
    """res: a 301 then the PDF; same: the same bytes at another URL; gone: 404."""
    server.route("/files/res.pdf", Content.file(RES, "application/pdf"))
    server.route("/res", Redirect("/files/res.pdf", 301))
    server.route("/mirror/same.pdf", Content.file(RES, "application/pdf"))
    server.route("/gone.pdf", Status(404))
    path = tmp_path / "m.toml"
    path.write_text(
        f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/res")}"\n\n'
        f'[[document]]\nid = "same"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/mirror/same.pdf")}"\n\n'
        f'[[document]]\nid = "gone"\nsymbol = "A/1"\nurl = "{server.url("/gone.pdf")}"\n')
    return path


def records(path: Path) -> list:
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            payload = rec.content_stream().read()
            out.append((rec.rec_type, rec.rec_headers, rec.http_headers, payload))
    return out


def warcs(archive: Path) -> list[Path]:
    return sorted((archive / "warc").glob("*.warc.gz"))


def test_archive_writes_one_complete_warc_per_run(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    [warc] = warcs(archive)
    assert warc.name.startswith("linkwatch-") and "-run1" in warc.name
    assert not list((archive / "warc").glob("*.open"))  # renamed into place once complete
    recs = records(warc)
    assert recs[0][0] == "warcinfo"
    by_uri: dict[str, list] = {}
    for kind, rec_headers, http, payload in recs[1:]:
        # a metadata record has a URI of its own (urn:linkwatch:<url>): it never shadows the response
        uri = rec_headers.get_header("WARC-Target-URI").removeprefix("urn:linkwatch:" if kind == "metadata" else "")
        by_uri.setdefault(uri, []).append((kind, rec_headers, http, payload))
    redirect = [r[0] for r in by_uri[next(u for u in by_uri if u.endswith("/res"))]]
    assert redirect == ["request", "response"]  # the 301 hop: its own request and response
    final = by_uri[next(u for u in by_uri if u.endswith("/files/res.pdf"))]
    same = by_uri[next(u for u in by_uri if u.endswith("/same.pdf"))]
    # The same payload at two URLs is stored once: whichever was recorded first has the response,
    # the other a revisit pointing at it (documents complete in any order).
    first, second = (final, same) if final[1][0] == "response" else (same, final)
    assert [r[0] for r in first] == ["request", "response", "metadata"]
    assert [r[0] for r in second] == ["request", "revisit", "metadata"]
    response, revisit = first[1], second[1]
    assert response[2].get_statuscode() == "200" and hashlib.sha256(response[3]).hexdigest() == RES_SHA256
    assert response[1].get_header("WARC-IP-Address") == "127.0.0.1"
    assert revisit[1].get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
    assert revisit[1].get_header("WARC-Refers-To") == response[1].get_header("WARC-Record-ID")
    meta = json.loads(final[2][3])
    assert meta["inspection"]["symbols"] == ["A/RES/78/323"] and meta["status"] == "ok"
    assert [f["kind"] for f in meta["findings"]] == ["moved"]
    # a 404 is recorded with its headers, its unkept body marked truncated
    gone = by_uri[next(u for u in by_uri if u.endswith("/gone.pdf"))]
    assert [r[0] for r in gone] == ["request", "response", "metadata"]
    assert gone[1][2].get_statuscode() == "404" and gone[1][1].get_header("WARC-Truncated") == "unspecified"
    assert json.loads(gone[2][3])["status"] == "broken"


def test_warcio_check_finds_no_digest_errors(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    linkwatch.archive(site, archive=archive, **FAST)
    for warc in warcs(archive):
        done = subprocess.run([sys.executable, "-c", "import sys, warcio.cli; sys.exit(warcio.cli.main())",
                               "check", "-v", str(warc)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "digest pass" in done.stdout and "fail" not in done.stdout.lower()


def test_unchanged_rerun_writes_revisits_that_replay_as_the_document(site: Path, tmp_path: Path) -> None:
    """After a 304 the revisit carries the archived response's status (200) and the payload's
    digest: a replay tool serves the archived document, not an empty 304. The 304 itself is
    in the metadata record."""
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    linkwatch.archive(site, archive=archive, **FAST)
    second = records(warcs(archive)[1])
    revisits = [r for r in second if r[0] == "revisit"]
    profiles = {r[1].get_header("WARC-Profile").rsplit("/", 1)[-1] for r in revisits}
    assert profiles == {"identical-payload-digest"} and len(revisits) == 2
    assert all(r[2].get_statuscode() == "200" for r in revisits)
    assert {r[1].get_header("WARC-Payload-Digest") for r in revisits} == {f"sha256:{RES_SHA256}"}
    assert all(r[1].get_header("WARC-Refers-To-Target-URI") and r[1].get_header("WARC-Refers-To-Date")
               for r in revisits)
    assert all(r[2].get_header("Content-Length") == str(RES.stat().st_size) for r in revisits)
    meta = [json.loads(r[3]) for r in second if r[0] == "metadata" and json.loads(r[3])["not_modified"]]
    assert len(meta) == 2 and {m["server_response"]["status"] for m in meta} == {304}
    assert not [r for r in second if r[0] == "response" and r[3]]  # no body stored twice


def test_check_writes_no_warc(site: Path, tmp_path: Path) -> None:
    linkwatch.check(site, archive=tmp_path / "archive", **FAST)
    assert not (tmp_path / "archive" / "warc").exists()


def test_verify_detects_changed_missing_and_unknown_blobs(site: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    assert main(["verify", "--archive", str(archive)]) == 0
    assert "verified 1 snapshots and 12 records in 1 WARC file(s): all match" in capsys.readouterr().out
    blob = archive / "blobs" / "sha256" / RES_SHA256[:2] / RES_SHA256[2:4] / RES_SHA256
    data = bytearray(blob.read_bytes())
    data[5000] ^= 0xFF
    blob.write_bytes(bytes(data))
    stray = archive / "blobs" / "sha256" / "00" / "11" / ("0011" + "a" * 60)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"who put this here")
    report = linkwatch.verify(archive=archive)
    assert {(p.kind, p.sha256) for p in report.problems} == {("changed", RES_SHA256), ("unknown", stray.name)}
    blob.unlink()
    assert main(["verify", "--archive", str(archive), "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert {p["kind"] for p in problems} == {"missing", "unknown"}
    events = linkwatch.events("res", archive=archive)
    assert [(e.kind, e.outcome) for e in events] == [
        ("ingest", "success"), ("fixity-check", "success"), ("fixity-check", "failure"), ("fixity-check", "failure")]
    assert all(e.agent.startswith("linkwatch ") for e in events)


def test_verify_sample_checks_a_share(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    report = linkwatch.verify(archive=archive, sample_percent=50)
    assert (report.checked, report.total, report.ok) == (1, 1, True)
    assert report.warc_files == 1  # at least one WARC file of the share too


def test_history_shows_preservation_events(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    capsys.readouterr()
    assert main(["history", "res", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "Preservation events" in out and "ingest" in out and RES_SHA256[:2] in out


def test_export_warc_has_latest_versions_with_metadata(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    dest = tmp_path / "out" / "export.warc.gz"
    dest.parent.mkdir()
    assert linkwatch.export_warc(dest, archive=archive) == 2  # res and same; gone has no version
    recs = records(dest)
    kinds = [r[0] for r in recs]
    assert kinds == ["warcinfo", "response", "metadata", "response", "metadata"]
    assert all(hashlib.sha256(r[3]).hexdigest() == RES_SHA256 for r in recs if r[0] == "response")
    assert {json.loads(r[3])["document"] for r in recs if r[0] == "metadata"} == {"res", "same"}


def test_export_warc_names_are_honoured_or_refused(site: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    for name in ("x.warc", "x.gz", "x", ".warc.gz"):  # gzip is what is written: the name must say so
        assert main(["export", "warc", str(tmp_path / name), "--archive", str(archive)]) == 2
        assert "*.warc.gz" in capsys.readouterr().err and not (tmp_path / name).exists()
    assert main(["export", "warc", str(tmp_path / "x.warc.gz"), "--archive", str(archive)]) == 0
    assert (tmp_path / "x.warc.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert main(["export", "wacz", str(tmp_path / "x.zip"), "--archive", str(archive)]) == 2
    assert "*.wacz" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["changed", "truncated", "symlink"])
def test_export_rehashes_and_refuses_a_damaged_blob(site: Path, tmp_path: Path, damage: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A blob that no longer is what was ingested never leaves under its recorded digest: exit 3,
    an export failure event, no file (WARC and WACZ alike)."""
    archive = tmp_path / "archive"
    linkwatch.archive(site, archive=archive, **FAST)
    blob = archive / "blobs" / "sha256" / RES_SHA256[:2] / RES_SHA256[2:4] / RES_SHA256
    data = blob.read_bytes()
    if damage == "changed":
        blob.write_bytes(data[:5000] + bytes([data[5000] ^ 1]) + data[5001:])
    elif damage == "truncated":
        blob.write_bytes(data[: len(data) // 2])
    else:  # the same bytes, elsewhere: still not the file that was ingested
        elsewhere = tmp_path / "elsewhere.pdf"
        elsewhere.write_bytes(data)
        blob.unlink()
        blob.symlink_to(elsewhere)
    for kind, name in (("warc", "out.warc.gz"), ("wacz", "out.wacz")):
        assert main(["export", kind, str(tmp_path / name), "--archive", str(archive)]) == 3
        assert "linkwatch verify" in capsys.readouterr().err
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out.", ".out."))]
    failures = [e for e in linkwatch.events(archive=archive) if e.kind == "export"]
    assert [(e.outcome, e.sha256) for e in failures] == [("failure", RES_SHA256)] * 2


@pytest.mark.sqlite_only
def test_index_of_schema_1_is_migrated_forward_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO runs (command, started_at, tool_version, manifests) VALUES ('check', 't', '0.0', '[]')")
    db.execute("""INSERT INTO observations (run_id, document_id, url, observed_at, status, redirects, not_modified,
                  archived, attempts, elapsed, request_headers, response_headers, tool_version)
                  VALUES (1, 'd', 'https://x.org/a.pdf', '2025-01-01T00:00:00Z', 'ok', '[{"url": "u", "status": 301,
                  "location": "v"}]', 0, 0, 1, 0.1, '{}', '{}', '0.0')""")
    db.commit()
    db.close()
    with Index(path) as index:
        assert index.schema_version == SCHEMA_VERSION
        old = index.latest("d")
        assert old is not None and old.status == "ok" and old.redirects[0].status == 301 and old.remote_addr is None
        assert index.events() == []


def test_kept_snapshots_are_readable_as_the_umask_allows(site: Path, tmp_path: Path) -> None:
    # The HTML page's "archived copy" links are opened by other accounts (a web server, a librarian).
    old = os.umask(0o022)
    try:
        archive = tmp_path / "archive"
        linkwatch.archive(site, archive=archive, **FAST)
    finally:
        os.umask(old)
    kept = [p for p in (archive / "blobs").rglob("*") if p.is_file()]
    assert kept and {oct(p.stat().st_mode & 0o777) for p in kept} == {oct(0o644)}
