"""The index (SQLite) and the blob store: schema, migrations, records, atomic blobs."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from linkwatch.blobs import BlobStore, hash_file
from linkwatch.compare import Finding
from linkwatch.fetch import Hop
from linkwatch.index import SCHEMA_VERSION, Index, SchemaTooNew
from linkwatch.inspect import Inspection
from linkwatch.manifest import Document
from linkwatch.observation import Observation

DOC = Document(id="a-1", url="https://x.org/a.pdf", symbols=("A/1",), title="T", lang="en", manifest="m.toml", line=3)


def observation(run_id: int, sha: str | None, status: str = "ok") -> Observation:
    return Observation(document_id="a-1", url=DOC.url, observed_at="2026-01-01T00:00:00Z", run_id=run_id,
                       status=status, http_status=200, sha256=sha, sha512=(sha or "0") * 2 if sha else None,
                       size=10, etag='"e1"', redirects=[Hop(DOC.url, 302, "https://y.org/a.pdf")],
                       response_headers={"content-type": "application/pdf"},
                       inspection=Inspection(pages=2, symbols=["A/1"], title="T", lang="en"))


def test_new_index_is_migrated_to_current_schema_in_wal_mode(tmp_path: Path) -> None:
    with Index(tmp_path / "index.sqlite") as index:
        assert index.schema_version == SCHEMA_VERSION >= 1
        assert index.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert index.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    Index(tmp_path / "index.sqlite").close()  # reopening is a no-op migration


def test_index_from_a_newer_linkwatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(SchemaTooNew, match="upgrade linkwatch"):
        Index(path)


def test_record_and_read_back_observations_with_findings(tmp_path: Path) -> None:
    with Index(tmp_path / "index.sqlite") as index:
        index.upsert_documents([DOC], "2026-01-01T00:00:00Z")
        run = index.start_run("check", "2026-01-01T00:00:00Z", "0.1.0", ["m.toml"])
        first = observation(run, "a" * 64)
        index.record(first, [], snapshot_stored_at="2026-01-01T00:00:00Z")
        second = observation(run, "b" * 64, status="ok")
        index.record(second, [Finding("content-changed", "warning", "a → b")])
        latest = index.latest("a-1")
        assert latest is not None and latest.sha256 == "b" * 64 and latest.redirects[0].status == 302
        assert latest.inspection == Inspection(pages=2, symbols=["A/1"], title="T", lang="en")
        assert index.before(latest).sha256 == "a" * 64  # type: ignore[union-attr]
        assert index.findings(latest.id or 0) == [Finding("content-changed", "warning", "a → b")]
        assert [o.sha256 for o in index.archived_versions("a-1")] == ["a" * 64]  # only "a" was kept
        assert index.document("a-1") == DOC
        assert index.latest_for_url("a-1", DOC.url).etag == '"e1"'  # type: ignore[union-attr]


def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    Index(path).close()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Index(path) as index:
                run = index.start_run("check", "t", "0", [])
                for i in range(50):
                    index.record(observation(run, f"{n}{i:063d}"[:64]), [Finding("x", "info", "m")])
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Index(path) as index:
        assert index.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 200
        assert index.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_blob_put_is_content_addressed_deduplicated_and_leaves_no_temp(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7 fake"
    sha = hashlib.sha256(data).hexdigest()
    for _ in range(2):
        tmp = tmp_path / ".part-1"
        tmp.write_bytes(data)
        final = store.put(tmp, sha)
        assert not tmp.exists()
    assert final == tmp_path / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha
    assert final.read_bytes() == data and store.iter_hashes() == [sha]
    assert hash_file(final) == (sha, hashlib.sha512(data).hexdigest(), len(data))
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
