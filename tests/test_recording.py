"""Non-UTF-8 bytes from a server never cost a run its record (issue 12, item 7).

The bulk client (aiohttp) kept a Latin-1 reason phrase or header value as lone surrogates, which
neither SQLite nor a WARC can hold: every run crashed with a traceback, recording nothing, the
healthy documents neither. Both clients now decode header text as Latin-1 (as http.client does),
and a document whose observation cannot be recorded is reported, not fatal.
"""
from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

from httpserver import Content, LocalServer, Raw, Sequence
from warcio.archiveiterator import ArchiveIterator

import linkwatch
from linkwatch.store.index import Index

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"
LATIN1 = Raw(404, "Non trouv\xe9", [("Content-Type", "text/plain"), ("X-Note", "caf\xe9 cr\xe8me")], b"absent")


def _manifest(tmp_path: Path, server: LocalServer) -> Path:
    server.route("/ok.pdf", Content.file(PDF, "application/pdf"))
    server.route("/gone.pdf", Sequence(Content.file(PDF, "application/pdf"), LATIN1))  # fine first, then gone
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "ok"\nsymbol = "A/80/62"\nurl = "{server.url("/ok.pdf")}"\n\n'
                    f'[[document]]\nid = "gone"\nsymbol = "A/80/62"\nurl = "{server.url("/gone.pdf")}"\n')
    return path


def test_latin1_text_on_the_bulk_paths_is_recorded_run_after_run(server: LocalServer, tmp_path: Path) -> None:
    manifest, archive = _manifest(tmp_path, server), tmp_path / "archive"
    opts = dict(archive=archive, min_interval=0, retries=0, progress=False)
    linkwatch.archive(manifest, **opts)  # first run: thread pool, both fine
    for _ in range(2):  # re-runs: conditional requests in bulk; then availability checks in bulk
        report = linkwatch.archive(manifest, **opts)
        assert {d.id: d.status for d in report.documents} == {"ok": "ok", "gone": "broken"}
        assert report.documents[1].error == "HTTP 404 Non trouvé"
    report = linkwatch.check(manifest, availability_only=True, **opts)
    assert report.documents[1].error == "HTTP 404 Non trouvé"
    with Index(archive / "index.sqlite") as index:
        last = index.latest("gone")
    assert last.reason == "Non trouvé" and last.response_headers["X-Note"] == "café crème"
    for warc in (archive / "warc").glob("*.warc.gz"):  # every record readable, the reason as sent
        with gzip.open(warc) as raw:
            statuses = [r.http_headers.statusline for r in ArchiveIterator(raw) if r.http_headers]
        assert statuses


def test_one_documents_recording_failure_never_aborts_the_run(server: LocalServer, tmp_path: Path,
                                                              monkeypatch) -> None:
    # Whatever a future bug lets through, a document the index refuses is reported, and the others
    # are recorded: simulated by an index that refuses one document's observation.
    manifest = _manifest(tmp_path, server)
    real = Index.record

    def refuse_one(self, obs, findings, snapshot_stored_at=None, campaign=None):
        if obs.document_id == "gone":
            raise UnicodeEncodeError("utf-8", "\udce9", 0, 1, "surrogates not allowed")
        return real(self, obs, findings, snapshot_stored_at, campaign)

    monkeypatch.setattr(Index, "record", refuse_one)
    report = linkwatch.check(manifest, archive=tmp_path / "a", min_interval=0, retries=0, progress=False)
    assert [d.id for d in report.documents] == ["ok", "gone"]
    assert "not recorded in the archive: UnicodeEncodeError" in report.documents[1].error
    db = sqlite3.connect(tmp_path / "a" / "index.sqlite")
    assert [r[0] for r in db.execute("SELECT document_id FROM observations")] == ["ok"]
    db.close()
