"""The index (on SQLite and on PostgreSQL) and the blob store: schema, migrations, records, atomic blobs."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from linkwatch.store.blobs import BlobStore, hash_file
from linkwatch.compare import Finding
from linkwatch.http.client import Hop
from linkwatch.store.archive import open_index
from linkwatch.store.index import SCHEMA_VERSION, Index, SchemaTooNew
from linkwatch.pdf.inspect import Inspection
from linkwatch.manifest import Document
from linkwatch.observation import Observation

DOC = Document(id="a-1", url="https://x.org/a.pdf", symbols=("A/1",), title="T", lang="en", manifest="m.toml", line=3)


def observation(run_id: int, sha: str | None, status: str = "ok") -> Observation:
    return Observation(document_id="a-1", url=DOC.url, observed_at="2026-01-01T00:00:00Z", run_id=run_id,
                       status=status, http_status=200, sha256=sha, sha512=(sha or "0") * 2 if sha else None,
                       size=10, etag='"e1"', redirects=[Hop(DOC.url, 302, "https://y.org/a.pdf")],
                       response_headers={"content-type": "application/pdf"},
                       inspection=Inspection(pages=2, symbols=["A/1"], title="T", lang="en"))


@pytest.fixture
def open_new(backend: str | None, tmp_path: Path) -> Callable[[], Index]:
    """Opens the test's index, on the backend under test (the same one at every call)."""
    return lambda: open_index(tmp_path, backend)


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


def test_record_and_read_back_observations_with_findings(open_new: Callable[[], Index]) -> None:
    with open_new() as index:
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


def test_concurrent_writers_wait_instead_of_failing(open_new: Callable[[], Index]) -> None:
    open_new().close()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with open_new() as index:
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
    with open_new() as index:
        assert index.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 200


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


def test_planning_reads_are_light_and_otherwise_the_same_observation(open_new: Callable[[], Index]) -> None:
    with open_new() as index:
        index.upsert_documents([DOC], "2026-01-01T00:00:00Z")
        run = index.start_run("check", "2026-01-01T00:00:00Z", "0.1.0", ["m.toml"])
        index.record(observation(run, None, status="unreachable"), [])
        index.record(observation(run, "a" * 64), [])
        full = index.latest("a-1")
        light, recent = index.latest_with_recent("a-1", 3)
        assert light is not None and full is not None
        assert light.response_headers == {} and full.response_headers == {"content-type": "application/pdf"}
        assert replace(light, request_headers=full.request_headers, response_headers=full.response_headers) == full
        assert recent == index.recent("a-1", 3) == [("ok", 200), ("unreachable", 200)]
        assert index.latest_with_recent("a-1", 1)[1] == [("ok", 200)]
        by_url = index.latest_for_url("a-1", DOC.url, light=True)
        assert by_url is not None and by_url.response_headers == {} and by_url.sha256 == "a" * 64
        assert index.latest_with_recent("nope", 2) == (None, [])


def test_timeline_marks_are_shared_between_documents(open_new: Callable[[], Index]) -> None:
    other = Document(id="b-1", url="https://x.org/b.pdf", manifest="m.toml", line=9)
    with open_new() as index:
        index.upsert_documents([DOC, other], "2026-01-01T00:00:00Z")
        run = index.start_run("check", "2026-01-01T00:00:00Z", "0.1.0", ["m.toml"])
        index.record(observation(run, None), [])
        index.record(replace(observation(run, None), document_id="b-1", url=other.url), [])
        a, b = index.timeline("a-1"), index.timeline("b-1")
        assert a == b == [{"at": "2026-01-01T00:00:00Z", "status": "ok"}]
        assert a[0] is b[0]  # one dict for 10,000 documents checked in the same second


def test_per_document_reads_do_not_scan_the_history(tmp_path: Path) -> None:
    """A run reads each document's last observations from indexes alone: the time per document must
    not grow with the number of runs recorded (10,000 documents × a year of nightly runs)."""
    with Index(tmp_path / "index.sqlite") as index:
        def query_plan(read) -> str:  # the plan of the statement ``read`` runs
            seen: list[str] = []
            index.db.set_trace_callback(seen.append)
            read()
            index.db.set_trace_callback(None)
            return " ".join(r[3] for r in index.db.execute("EXPLAIN QUERY PLAN " + seen[-1]))  # values inlined

        timeline = query_plan(lambda: index.timeline("a"))
        assert "COVERING INDEX observations_recent" in timeline and "TEMP B-TREE" not in timeline
        content = query_plan(lambda: index.latest_for_url("a", "u", light=True))
        assert "observations_with_content" in content and "TEMP B-TREE" not in content
        # With no snapshot kept (a `check`-only archive) the archived-version lookup reads nothing.
        assert "SCALAR SUBQUERY" in query_plan(lambda: index.latest_archived("a"))


def test_a_new_index_appears_only_with_its_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Created under a temporary name and linked into place: a run killed while creating the
    index never leaves an index.sqlite without tables (tests/test_crash.py kills runs anywhere)."""
    path = tmp_path / "index.sqlite"
    stale = tmp_path / ".index.sqlite.new-999999999-1"  # a dead creator's leftover
    stale.write_bytes(b"")

    def killed(*args: object) -> None:
        raise SystemExit("killed just before the link")

    monkeypatch.setattr("os.link", killed)
    with pytest.raises(SystemExit):
        Index(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []  # nothing half-made, stale swept
    monkeypatch.undo()
    with Index(path) as index:
        assert index.schema_version == SCHEMA_VERSION
        assert index.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]


def test_recording_in_a_campaign_is_idempotent(open_new: Callable[[], Index]) -> None:
    """A retried shard, or two workers on one document, never record the campaign's observation twice."""
    with open_new() as index, open_new() as other:
        index.upsert_documents([DOC], "2026-01-01T00:00:00Z")
        run = index.start_run("check", "2026-01-01T00:00:00Z", "0.1.0", ["m.toml"], campaign="2026-01-01")
        first = observation(run, "a" * 64)
        first_id = index.record(first, [Finding("x", "info", "first")], campaign="2026-01-01")
        again = observation(run, "b" * 64)
        assert other.record(again, [Finding("y", "info", "again")], campaign="2026-01-01") == first_id == again.id
        assert index.campaign_done("2026-01-01") == {"a-1"} and index.campaign_done("2026-01-02") == set()
        assert index.findings(first_id) == [Finding("x", "info", "first")]
        assert index.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 1
        index.record(observation(run, "c" * 64), [], campaign="2026-01-02")  # the next campaign records
        index.record(observation(run, "d" * 64), [])  # and so does a run outside any campaign
        assert index.latest("a-1", "2026-01-01").sha256 == "a" * 64  # type: ignore[union-attr]
        assert index.latest("a-1").sha256 == "d" * 64  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_index_from_a_newer_linkwatch_is_refused_and_migrations_run_once(
        backend: str, tmp_path: Path) -> None:
    import psycopg

    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_index(tmp_path, backend).close()
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]  # six runners open a new database at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(backend, autocommit=True) as db:
        assert db.execute("SELECT version FROM linkwatch_schema").fetchall() == [(SCHEMA_VERSION,)]
        db.execute("UPDATE linkwatch_schema SET version = version + 1")
    with pytest.raises(SchemaTooNew, match="upgrade linkwatch"):
        open_index(tmp_path, backend)
