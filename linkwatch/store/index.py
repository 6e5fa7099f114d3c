"""The index: an SQLite database of runs, documents, observations, findings and snapshots.

WAL mode (readers never block the writer), a busy timeout (two runs on one archive wait for each
other instead of failing), short transactions, the schema version in ``PRAGMA user_version`` and
forward-only migrations: each entry of :data:`MIGRATIONS` moves the schema up by one.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from ..compare import Finding
from ..http.client import Hop
from ..pdf.inspect import Inspection
from ..manifest import Document
from ..observation import Observation

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        tool_version TEXT NOT NULL,
        manifests TEXT NOT NULL,          -- JSON list of paths
        exit_code INTEGER
    );
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        manifest TEXT NOT NULL,
        line INTEGER NOT NULL,
        kind TEXT NOT NULL,
        symbols TEXT NOT NULL,            -- JSON list, expected
        title TEXT,
        lang TEXT,
        url TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE snapshots (
        sha256 TEXT PRIMARY KEY,
        sha512 TEXT NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT,
        stored_at TEXT NOT NULL
    );
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        document_id TEXT NOT NULL,
        url TEXT NOT NULL,
        observed_at TEXT NOT NULL,
        status TEXT NOT NULL,
        final_url TEXT,
        http_status INTEGER,
        redirects TEXT NOT NULL,          -- JSON list of {url, status, location}
        content_type TEXT,
        etag TEXT,
        last_modified TEXT,
        not_modified INTEGER NOT NULL,
        size INTEGER,
        sha256 TEXT,
        sha512 TEXT,
        sniffed TEXT,
        archived INTEGER NOT NULL,
        error TEXT,
        error_kind TEXT,
        attempts INTEGER NOT NULL,
        elapsed REAL NOT NULL,
        request_headers TEXT NOT NULL,    -- JSON object
        response_headers TEXT NOT NULL,   -- JSON object
        inspection TEXT,                  -- JSON object (Inspection) or NULL
        tool_version TEXT NOT NULL
    );
    CREATE INDEX observations_by_document ON observations(document_id, id);
    CREATE INDEX observations_by_sha256 ON observations(sha256);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        observation_id INTEGER NOT NULL REFERENCES observations(id),
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX findings_by_observation ON findings(observation_id);
    """,
    # 2: provenance (reason phrase, remote address), WARC location, and preservation events
    """
    ALTER TABLE observations ADD COLUMN reason TEXT;
    ALTER TABLE observations ADD COLUMN remote_addr TEXT;
    ALTER TABLE observations ADD COLUMN warc_file TEXT;
    ALTER TABLE observations ADD COLUMN warc_record_id TEXT;
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,               -- ingest | fixity-check | export (PREMIS event types)
        outcome TEXT NOT NULL,            -- success | failure
        sha256 TEXT,                      -- the snapshot concerned, if any
        document_id TEXT,
        detail TEXT NOT NULL,
        agent TEXT NOT NULL               -- "linkwatch <version>"
    );
    CREATE INDEX events_by_sha256 ON events(sha256);
    CREATE INDEX events_by_document ON events(document_id);
    """,
    # 3: indexes that keep a run's reads per document O(1) however long the history grows: the
    # last observations' status and time read from the index alone (timeline, transient rule),
    # and the last observation of a URL that saw content found without scanning the ones that
    # did not (availability-only runs). Measured at 10,000 documents × 30 runs: timelines 0.49 →
    # 0.16 s, content lookups 0.39 → 0.06 s. The first replaces observations_by_document.
    """
    CREATE INDEX observations_recent ON observations(document_id, id, status, observed_at, http_status);
    DROP INDEX observations_by_document;
    CREATE INDEX observations_with_content ON observations(document_id, url, id) WHERE sha256 IS NOT NULL;
    """,
    # 4: campaigns — the shards (and any retried task) of one scheduled run share a campaign name;
    # a document is observed at most once per campaign, so a retried shard or a re-run task never
    # records an observation twice (Index.record), and status shows the campaign as one picture.
    """
    ALTER TABLE runs ADD COLUMN campaign TEXT;
    ALTER TABLE observations ADD COLUMN campaign TEXT;
    CREATE UNIQUE INDEX observations_once_per_campaign ON observations(campaign, document_id)
        WHERE campaign IS NOT NULL;
    CREATE INDEX runs_by_campaign ON runs(campaign);
    """,
    # 5: per-host request starts booked across runs sharing a PostgreSQL index (store/booking.py):
    # when each host's next request may start, in seconds since the epoch on the database's clock.
    """
    CREATE TABLE host_starts (
        host TEXT PRIMARY KEY,
        next_start REAL NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Event:
    """A preservation event, in the spirit of PREMIS: what happened to what, when, by whom, outcome."""

    at: str
    kind: str  # "ingest" | "fixity-check" | "export" | "repair" (a damaged blob replaced by a good download)
    outcome: str  # "success" | "failure"
    detail: str
    agent: str
    sha256: str | None = None
    document_id: str | None = None


def _with_busy_retry(step, patience: float = 60.0):
    """Run ``step``, retrying while SQLite says "database is locked".

    Two runs opening a *new* archive at once race to create it: switching to WAL, and the first
    schema transaction on a database being created, can fail with SQLITE_BUSY at once instead of
    waiting on the busy timeout (measured: 9 of 120 concurrent opens of a fresh index failed).
    """
    import random
    import time

    deadline = time.monotonic() + patience
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.1))


def _create(path: Path) -> None:
    """Create a new index atomically: migrated under a temporary name, then linked into place.

    Created in place, a process killed between SQLite's first write and the first migration's
    commit leaves an ``index.sqlite`` without tables. Linked, ``index.sqlite`` exists only with its
    schema; two runs creating it at once each build one and the first link wins. Best effort: where
    hard links fail (or anything else does), the index is created in place as before.
    """
    for stale in path.parent.glob(f".{path.name}.new-*"):  # left by a process killed while creating
        pid = stale.name.rsplit(".new-", 1)[1].split("-", 1)[0].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        building = Index.__new__(Index)
        building.path = tmp
        building._connect()
        building.close()  # the last connection: SQLite checkpoints the WAL into the file
        os.link(tmp, path)
    except (OSError, sqlite3.Error):
        pass  # FileExistsError: another run created it first; anything else: created in place
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours
    return True


class SchemaTooNew(Exception):
    """The index was written by a newer linkwatch (a higher schema version)."""


class SchemaTooOld(Exception):
    """A read-only index written by an older linkwatch: it cannot be migrated where it lies."""


class NoArchive(Exception):
    """A read command was pointed at a folder holding no linkwatch archive (exit 2)."""


def _refuse_empty(path: Path, uri: str) -> None:
    """:class:`NoArchive` for an index file that holds no linkwatch schema (0 bytes after a failed
    copy or cache restore, an empty SQLite file): a read command must not initialise it into an
    empty archive and report "0 documents, no findings"."""
    try:
        probe = sqlite3.connect(uri + "?mode=ro", uri=True)
        try:
            version = probe.execute("PRAGMA user_version").fetchone()[0]
        finally:
            probe.close()
    except sqlite3.DatabaseError:
        return  # not a database at all, or unreadable: the caller's own opening reports it
    if version == 0:
        raise NoArchive(f"no linkwatch archive at {path.parent}: {path.name} is "
                        f"{'empty' if path.stat().st_size == 0 else 'a database without a linkwatch index'} "
                        "(a failed copy or cache restore?); restore the archive, or run 'linkwatch check' to start one")


def _connect_read_only(path: Path, uri: str) -> sqlite3.Connection:
    """A connection to an index that cannot be written.

    ``immutable=1`` needs no lock and no -shm file, but ignores the write-ahead log: a copy taken
    while a run or a reader held the index open keeps its last changes in ``index.sqlite-wal``,
    and would silently show an older archive. With a log present, ``mode=ro`` reads it (that needs
    the ``-shm`` file beside it); where it cannot, the copy is refused rather than shown stale."""
    wal = path.with_name(path.name + "-wal")
    if not (wal.is_file() and wal.stat().st_size > 0):
        return sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None)
    try:
        db = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA user_version").fetchone()
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.Error as exc:
        raise sqlite3.OperationalError(
            f"its last changes are in {wal.name}, which cannot be read on this read-only copy ({exc}); "
            f"copy the archive somewhere writable, or copy {path.name}-shm along with it") from None


class Index:
    """The archive's SQLite index. One instance per thread (sqlite3 connections are not shared)."""

    readonly = False  # opened with SQLite's immutable=1: nothing can be written (open_existing)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            _create(self.path)
        self._connect()

    @classmethod
    def open_existing(cls, path: Path) -> Index:
        """Open the index for a read command (status, history, diff, verify, export).

        Never creates one: a mistyped path is :class:`NoArchive`, not a new empty archive. Where
        the index or its folder cannot be written (a read-only mount, a preserved copy), it is
        opened with SQLite's ``immutable=1`` — no lock, no WAL file, no write — and
        :attr:`readonly` is set: events are then not recorded.
        """
        path = Path(path)
        if not path.is_file():
            raise NoArchive(f"no linkwatch archive at {path.parent} (no {path.name} there); "
                            "check --archive or $LINKWATCH_ARCHIVE, or run 'linkwatch check' first")
        index = cls.__new__(cls)
        index.path = path
        uri = "file:" + quote(str(path.absolute()))
        _refuse_empty(path, uri)
        if os.access(path.parent, os.W_OK) and os.access(path, os.W_OK):
            index._connect(uri + "?mode=rw")  # mode=rw: never creates
            return index
        index.readonly = True
        index.db = _connect_read_only(path, uri)
        index.db.row_factory = sqlite3.Row
        index._shared = _Shared()
        version = index.schema_version
        if version != SCHEMA_VERSION:
            index.close()
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(f"{path}: index schema {version} is newer than this linkwatch "
                                   f"({SCHEMA_VERSION}); upgrade linkwatch")
            raise SchemaTooOld(f"{path}: index schema {version} is older than this linkwatch ({SCHEMA_VERSION}) "
                               "and the archive is read-only; open a writable copy once to migrate it")
        return index

    def _connect(self, uri: str | None = None) -> None:
        self.db = sqlite3.connect(uri or self.path, timeout=60.0, isolation_level=None, uri=uri is not None)
        self.db.row_factory = sqlite3.Row
        self._shared = _Shared()
        self.db.execute("PRAGMA busy_timeout = 60000")
        _with_busy_retry(lambda: self.db.execute("PRAGMA journal_mode = WAL"))
        self.db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
        self.db.execute("PRAGMA foreign_keys = ON")
        _with_busy_retry(self._migrate)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy
        # timeout instead of failing halfway with "database is locked".
        # Nested: joins the outer transaction (a run records a batch of observations in one
        # commit instead of one commit each: 10,000 commits cost seconds).
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction():
            version = self.schema_version
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(f"{self.location}: index schema {version} is newer than this linkwatch "
                                  f"({SCHEMA_VERSION}); upgrade linkwatch")
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(self._ddl(MIGRATIONS[number])):
                    self.db.execute(statement)
                self._set_schema_version(number + 1)

    @staticmethod
    def _ddl(script: str) -> str:
        """A migration in this database's dialect (the migrations are written for SQLite)."""
        return script

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _set_schema_version(self, version: int) -> None:
        self.db.execute(f"PRAGMA user_version = {int(version)}")

    def _plain(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Rows as plain tuples (hashable: timeline marks are shared by their (at, status) key)."""
        cur = self.db.cursor()
        cur.row_factory = None
        return cur.execute(sql, params).fetchall()

    @property
    def location(self) -> str:
        """Where the index is, for messages."""
        return str(self.path)

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, command: str, started_at: str, tool_version: str, manifests: list[str],
                  campaign: str | None = None) -> int:
        with self.transaction() as db:
            return int(db.execute("INSERT INTO runs (command, started_at, tool_version, manifests, campaign) "
                                  "VALUES (?,?,?,?,?) RETURNING id",
                                  (command, started_at, tool_version, json.dumps(manifests), campaign)).fetchone()[0])

    def finish_run(self, run_id: int, finished_at: str, exit_code: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, exit_code = ? WHERE id = ?", (finished_at, exit_code, run_id))

    # -- documents ----------------------------------------------------------------------------
    def upsert_documents(self, documents: list[Document], now: str) -> None:
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO documents (id, manifest, line, kind, symbols, title, lang, url, updated_at)
                   VALUES (?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(id) DO UPDATE SET manifest=excluded.manifest, line=excluded.line,
                     kind=excluded.kind, symbols=excluded.symbols, title=excluded.title, lang=excluded.lang,
                     url=excluded.url, updated_at=excluded.updated_at""",
                ((d.id, d.manifest, d.line, d.kind, json.dumps(list(d.symbols)), d.title, d.lang, d.url, now)
                 for d in documents))  # a generator: 100,000 rows are never all in memory

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def documents(self) -> list[Document]:
        return [_document(r) for r in self.db.execute("SELECT * FROM documents ORDER BY manifest, line, id")]

    # -- observations -------------------------------------------------------------------------
    def record(self, obs: Observation, findings: list[Finding], snapshot_stored_at: str | None = None,
               campaign: str | None = None) -> int:
        """Store one judged observation with its findings (and its snapshot row if bytes were kept).

        With a ``campaign``, idempotent: when the campaign already holds an observation of this
        document (an earlier attempt of a retried task, an overlapping worker), nothing is added
        and that observation's id is returned."""
        if not self.db.in_transaction:
            with self.transaction():
                return self.record(obs, findings, snapshot_stored_at, campaign)
        # In the caller's transaction (a run records a batch per transaction): no context manager.
        db = self.db
        if snapshot_stored_at and obs.sha256 and obs.sha512 and obs.size is not None:
            db.execute("INSERT INTO snapshots (sha256, sha512, size, content_type, stored_at) "
                       "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", (obs.sha256, obs.sha512, obs.size,
                                                                    obs.content_type, snapshot_stored_at))
        row = db.execute(_INSERT_OBSERVATION, (*_obs_row(obs), campaign)).fetchone()
        if row is None:  # this campaign has observed the document already
            obs.id = self.campaign_observation(campaign or "", obs.document_id)
            return obs.id or 0
        obs_id = int(row[0])
        if findings:
            db.executemany("INSERT INTO findings (observation_id, kind, severity, message) VALUES (?,?,?,?)",
                           [(obs_id, f.kind, f.severity, f.message) for f in findings])
        obs.id = obs_id
        return obs_id

    def latest(self, doc_id: str, campaign: str | None = None) -> Observation | None:
        """The document's latest observation (in ``campaign``, when given)."""
        if campaign is not None:
            obs_id = self.campaign_observation(campaign, doc_id)
            row = self.db.execute("SELECT * FROM observations WHERE id = ?", (obs_id,)).fetchone() if obs_id else None
        else:
            row = self.db.execute("SELECT * FROM observations WHERE document_id = ? ORDER BY id DESC LIMIT 1",
                                  (doc_id,)).fetchone()
        return _observation(row, share=self._shared) if row else None

    def campaign_observation(self, campaign: str, doc_id: str) -> int | None:
        """The id of the campaign's observation of a document, if it has one."""
        row = self.db.execute("SELECT id FROM observations WHERE campaign = ? AND document_id = ?",
                              (campaign, doc_id)).fetchone()
        return int(row[0]) if row else None

    def campaign_done(self, campaign: str) -> set[str]:
        """The documents a campaign has observed already (a retried shard skips them)."""
        return {r[0] for r in self._plain("SELECT document_id FROM observations WHERE campaign = ?", (campaign,))}

    def before(self, obs: Observation) -> Observation | None:
        """The observation of the same document just before ``obs``."""
        row = self.db.execute("SELECT * FROM observations WHERE document_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
                              (obs.document_id, obs.id)).fetchone()
        return _observation(row, share=self._shared) if row else None

    def latest_for_url(self, doc_id: str, url: str, light: bool = False) -> Observation | None:
        """The last observation of this URL that saw content: its validators make a conditional request.

        ``light``: without its request and response headers (see :meth:`latest_with_recent`)."""
        row = self.db.execute(
            f"SELECT {_LIGHT_SELECT if light else '*'} FROM observations WHERE document_id = ? AND url = ? "
            "AND sha256 IS NOT NULL ORDER BY id DESC LIMIT 1", (doc_id, url)).fetchone()
        return _observation(row, light, self._shared) if row else None

    def latest_with_recent(self, doc_id: str, limit: int = 1
                           ) -> tuple[Observation | None, list[tuple[str, int | None]]]:
        """The latest observation, light (no request and response headers: what planning a run
        needs, at a fraction of the memory), and (status, http_status) of the last ``limit``,
        newest first (:meth:`recent`): one query instead of two."""
        rows = self.db.execute(f"SELECT {_LIGHT_SELECT} FROM observations WHERE document_id = ? "
                               "ORDER BY id DESC LIMIT ?", (doc_id, max(1, limit))).fetchall()
        if not rows:
            return None, []
        return _observation(rows[0], True, self._shared), [(r["status"], r["http_status"]) for r in rows[:limit]]

    def history(self, doc_id: str) -> list[Observation]:
        rows = self.db.execute("SELECT * FROM observations WHERE document_id = ? ORDER BY id", (doc_id,))
        return [_observation(r, share=self._shared) for r in rows]

    def findings(self, obs_id: int) -> list[Finding]:
        rows = self.db.execute("SELECT kind, severity, message FROM findings WHERE observation_id = ? ORDER BY id",
                               (obs_id,))
        return [Finding(r["kind"], r["severity"], r["message"]) for r in rows]

    def snapshot(self, sha256: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM snapshots WHERE sha256 = ?", (sha256,)).fetchone()

    def snapshots(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM snapshots ORDER BY sha256"))

    # -- preservation events (PREMIS-like: what, when, outcome, agent) ------------------------
    def add_event(self, event: Event) -> None:
        if self.readonly:  # a preserved copy: the check or export stands without its event
            return
        with self.transaction() as db:
            db.execute("INSERT INTO events (at, kind, outcome, sha256, document_id, detail, agent) "
                       "VALUES (?,?,?,?,?,?,?)", (event.at, event.kind, event.outcome, event.sha256,
                                                  event.document_id, event.detail, event.agent))

    def add_events(self, events: list[Event]) -> None:
        if self.readonly:
            return
        with self.transaction() as db:
            db.executemany("INSERT INTO events (at, kind, outcome, sha256, document_id, detail, agent) "
                           "VALUES (?,?,?,?,?,?,?)", [(e.at, e.kind, e.outcome, e.sha256, e.document_id,
                                                       e.detail, e.agent) for e in events])

    def events(self, doc_id: str | None = None) -> list[Event]:
        """Events about a document: its own, and those about any snapshot it was ever seen with."""
        if doc_id is None:
            rows = self.db.execute("SELECT * FROM events ORDER BY id")
        else:
            rows = self.db.execute(
                "SELECT * FROM events WHERE document_id = ? OR sha256 IN "
                "(SELECT sha256 FROM observations WHERE document_id = ? AND sha256 IS NOT NULL) ORDER BY id",
                (doc_id, doc_id))
        return [Event(r["at"], r["kind"], r["outcome"], r["detail"], r["agent"], r["sha256"], r["document_id"])
                for r in rows]

    def first_warc_record(self, sha256: str) -> tuple[str, str, str] | None:
        """(url, observed_at, WARC-Record-ID) of the first WARC response holding this payload."""
        row = self.db.execute(
            "SELECT COALESCE(final_url, url), observed_at, warc_record_id FROM observations "
            "WHERE sha256 = ? AND warc_record_id IS NOT NULL AND not_modified = 0 ORDER BY id LIMIT 1",
            (sha256,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def warc_records(self) -> dict[str, dict[str, str | None]]:
        """{WARC file name: {record id an observation points at: the sha256 of the version it holds,
        when those bytes are kept (else None)}} — what ``verify`` expects to find in each file."""
        found: dict[str, dict[str, str | None]] = {}
        for name, record_id, sha256 in self.db.execute(
                """SELECT o.warc_file, o.warc_record_id, s.sha256 FROM observations o
                   LEFT JOIN snapshots s ON s.sha256 = o.sha256 WHERE o.warc_file IS NOT NULL"""):
            ids = found.setdefault(name, {})
            if record_id:
                ids[record_id] = ids.get(record_id) or sha256
        return found

    def run_starts(self) -> dict[int, str]:
        """{run id: when it started} of every ``archive`` run (each wrote one WARC named after both)."""
        return {run_id: started for run_id, started in
                self.db.execute("SELECT id, started_at FROM runs WHERE command = 'archive'")}

    def latest_archived_observation(self, doc_id: str, cited: Document | None = None) -> Observation | None:
        """The observation that fetched the newest kept version of a document judged ``ok`` (its real
        response, not a 304 that confirmed it): the version presented as the cited document."""
        kept = self.latest_archived(doc_id, cited)
        if kept is None:
            return None
        row = self.db.execute(
            "SELECT * FROM observations WHERE document_id = ? AND sha256 = ? AND not_modified = 0 "
            "ORDER BY status = 'ok' DESC, id DESC LIMIT 1", (doc_id, kept[0])).fetchone()
        return _observation(row, share=self._shared) if row else None

    def latest_archived(self, doc_id: str, cited: Document | None = None) -> tuple[str, str] | None:
        """(sha256, observed_at) of the newest kept version of a document that was judged ``ok`` —
        and, given ``cited`` (the document as the manifest cites it now), whose page 1 still shows
        that citation (:func:`linkwatch.compare.still_cited`).

        Only such a version is ever presented as the cited document (the "archived copy", Robust
        Links, export names): a kept placeholder, translation or other edition is evidence of what
        the URL served, never the document cited."""
        from ..compare import still_cited

        # EXISTS is evaluated once: an archive that keeps no bytes answers without reading the history.
        rows = self.db.execute(
            """SELECT o.sha256, o.observed_at, o.inspection FROM observations o JOIN snapshots s ON s.sha256 = o.sha256
               WHERE o.document_id = ? AND o.status = 'ok' AND EXISTS (SELECT 1 FROM snapshots)
               ORDER BY o.id DESC""",
            (doc_id,))
        for sha256, observed_at, inspection in rows:
            if cited is None or still_cited(cited, _inspection(inspection)):
                return sha256, observed_at
        return None

    def last_good(self, doc_id: str) -> tuple[str | None, str | None]:
        """(when the document was last seen ``ok``, sha256 of the newest kept version seen ``ok`` —
        else of the newest kept version at all): what a web archive capture is looked up near and
        compared with (``--suggest``)."""
        at = self.db.execute("SELECT observed_at FROM observations WHERE document_id = ? AND status = 'ok' "
                             "ORDER BY id DESC LIMIT 1", (doc_id,)).fetchone()
        kept = self.db.execute(
            """SELECT o.sha256 FROM observations o JOIN snapshots s ON s.sha256 = o.sha256
               WHERE o.document_id = ? AND EXISTS (SELECT 1 FROM snapshots)
               ORDER BY o.status = 'ok' DESC, o.id DESC LIMIT 1""", (doc_id,)).fetchone()
        return (at[0] if at else None, kept[0] if kept else None)

    def recent(self, doc_id: str, limit: int) -> list[tuple[str, int | None]]:
        """(status, http_status) of the last ``limit`` observations, newest first (the transient rule)."""
        rows = self.db.execute("SELECT status, http_status FROM observations WHERE document_id = ? "
                               "ORDER BY id DESC LIMIT ?", (doc_id, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def timeline(self, doc_id: str, limit: int = 30) -> list[dict[str, str]]:
        """The last ``limit`` observations as {"at", "status"}, oldest first (for availability charts)."""
        rows = self._plain("SELECT observed_at, status FROM observations WHERE document_id = ? "
                           "ORDER BY id DESC LIMIT ?", (doc_id, limit))
        known, mark = self._shared.marks.get, self._shared.mark
        return [known(r) or mark(*r) for r in reversed(rows)]

    def archived_versions(self, doc_id: str) -> list[Observation]:
        """One observation per distinct archived snapshot of a document, oldest first."""
        rows = self.db.execute(
            """SELECT o.* FROM observations o JOIN snapshots s ON s.sha256 = o.sha256
               WHERE o.document_id = ? AND o.id IN (
                   SELECT MIN(id) FROM observations WHERE document_id = ? AND sha256 IS NOT NULL GROUP BY sha256)
               ORDER BY o.id""", (doc_id, doc_id))
        return [_observation(r, share=self._shared) for r in rows]


_OBS_COLUMNS = (
    "run_id", "document_id", "url", "observed_at", "status", "final_url", "http_status", "redirects",
    "content_type", "etag", "last_modified", "not_modified", "size", "sha256", "sha512", "sniffed", "archived",
    "error", "error_kind", "attempts", "elapsed", "request_headers", "response_headers", "inspection",
    "tool_version", "reason", "remote_addr", "warc_file", "warc_record_id",
)


_INSERT_OBSERVATION = (f"INSERT INTO observations ({', '.join(_OBS_COLUMNS)}, campaign) "
                       f"VALUES ({', '.join('?' * (len(_OBS_COLUMNS) + 1))}) "
                       "ON CONFLICT (campaign, document_id) WHERE campaign IS NOT NULL DO NOTHING RETURNING id")


def _obs_row(o: Observation) -> tuple[object, ...]:
    return (
        o.run_id, o.document_id, o.url, o.observed_at, o.status or "unverified", o.final_url, o.http_status,
        json.dumps([asdict(h) for h in o.redirects]) if o.redirects else "[]", o.content_type, o.etag,
        o.last_modified, int(o.not_modified),
        o.size, o.sha256, o.sha512, o.sniffed, int(o.archived), o.error, o.error_kind, o.attempts, o.elapsed,
        json.dumps(o.request_headers), json.dumps(o.response_headers),
        json.dumps(asdict(o.inspection)) if o.inspection else None, o.tool_version, o.reason, o.remote_addr,
        o.warc_file, o.warc_record_id,
    )


# Every column but the request and response headers (JSON objects, most of a row's size once
# decoded): what judging drift and making a request conditional read of an earlier observation.
_LIGHT_SELECT = ", ".join(("id", *(c for c in _OBS_COLUMNS if c not in ("request_headers", "response_headers"))))
class _Shared:
    """One copy of the short values repeated on every row (statuses, content types, the timestamps
    of one run…) and of identical timeline marks, instead of one per row: a plan or a report
    holds 10,000 rows, and a timeline 30 marks per document. Bounded, and it lives as long as its
    :class:`Index`: values from servers never pile up in a long-lived process."""

    LIMIT = 16384

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.marks: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        shared = self.values.get(value)
        if shared is not None:
            return shared
        if len(self.values) < self.LIMIT and len(value) < 64:
            self.values[value] = value
        return value

    def mark(self, at: str, status: str) -> dict[str, str]:
        """``{"at": at, "status": status}``: the same dict for every document observed with this
        status in the same second (timeline marks are read-only)."""
        key = (at, status)
        found = self.marks.get(key)
        if found is None:
            found = {"at": self(at) or at, "status": self(status) or status}
            if len(self.marks) < self.LIMIT:
                self.marks[key] = found
        return found


def _inspection(stored: str | None) -> Inspection | None:
    return Inspection(**_known(Inspection, json.loads(stored))) if stored else None


def _observation(r: sqlite3.Row, light: bool = False, share: Callable[[str | None], str | None] = lambda v: v
                 ) -> Observation:
    """An observation from its row; ``light``: a row of ``_LIGHT_SELECT`` (headers left empty)."""
    r = dict(zip(r.keys(), r, strict=True))  # type: ignore[assignment]  # Row["name"] scans the column names
    inspection = _inspection(r["inspection"])
    redirects = r["redirects"]
    return Observation(
        id=r["id"], run_id=r["run_id"], document_id=r["document_id"], url=r["url"], observed_at=r["observed_at"],
        status=share(r["status"]), final_url=r["final_url"], http_status=r["http_status"],
        redirects=[Hop(**_known(Hop, h)) for h in json.loads(redirects)] if redirects != "[]" else [],
        content_type=share(r["content_type"]), etag=r["etag"],
        last_modified=r["last_modified"], not_modified=bool(r["not_modified"]), size=r["size"], sha256=r["sha256"],
        sha512=r["sha512"], sniffed=share(r["sniffed"]), archived=bool(r["archived"]), error=r["error"],
        error_kind=share(r["error_kind"]), attempts=r["attempts"], elapsed=r["elapsed"],
        request_headers={} if light else json.loads(r["request_headers"]),
        response_headers={} if light else json.loads(r["response_headers"]),
        inspection=inspection, tool_version=share(r["tool_version"]), reason=share(r["reason"]) or "",
        remote_addr=r["remote_addr"], warc_file=r["warc_file"], warc_record_id=r["warc_record_id"],
    )


def _known(cls: type, data: dict[str, object]) -> dict[str, object]:
    # An index written by a newer linkwatch may hold fields this one does not know: ignore them.
    names = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k in names}


def _document(r: sqlite3.Row) -> Document:
    return Document(id=r["id"], url=r["url"], symbols=tuple(json.loads(r["symbols"])), title=r["title"],
                    lang=r["lang"], kind=r["kind"], manifest=r["manifest"], line=r["line"])


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
