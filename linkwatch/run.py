"""A run: manifest → plan → fetch → inspect → compare → record → report, over many documents.

Documents are observed concurrently in a thread pool (``concurrency``); the fetcher enforces the
per-host limits, the inspector runs PDFs in sandboxed worker processes, and only the main thread
writes the index (one writer, short transactions).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .blobs import BlobStore
from .compare import Finding, judge, worst
from .fetch import FetchConfig, Fetcher
from .index import Index, SchemaTooNew
from .inspect import Inspector
from .manifest import Document, load_all
from .observation import Observation
from .plan import Task, plan
from .record import Recorder
from .report import DocumentResult, Report
from .warc import WarcLog, open_run_warc
from .webpage import inspect_page


class RunFailed(Exception):
    """The run itself could not proceed (archive not writable, index unusable…): exit 3."""


@dataclass
class Options:
    """Everything a run can be told. The CLI flags map one to one onto these fields."""

    archive: Path = field(default_factory=lambda: Path(os.environ.get("LINKWATCH_ARCHIVE", "archive")))
    concurrency: int = 8
    per_host: int = 2
    min_interval: float = 0.2  # seconds between request starts to one host: polite by default
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    retry_after_cap: float = 60.0
    max_size: int = 512 * 1024**2
    inspect_timeout: float = 60.0
    inspect_memory_mb: int = 1024
    progress: bool = True

    def fetch_config(self) -> FetchConfig:
        return FetchConfig(timeout=self.timeout, retries=self.retries, backoff=self.backoff,
                           retry_after_cap=self.retry_after_cap, max_size=self.max_size,
                           per_host=self.per_host, min_interval=self.min_interval)


@dataclass
class Outcome:
    """What observing one document produced, handed from a worker thread to the recorder."""

    task: Task
    observation: Observation
    findings: list[Finding]
    stored: bool = False


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Archive:
    """The archive folder: index + blobs + a tmp/ for downloads on the same filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp = self.root / "tmp"
            self.tmp.mkdir(exist_ok=True)
            _probe_writable(self.tmp)
            self.blobs = BlobStore(self.root / "blobs")
            self.index = Index(self.root / "index.sqlite")
        except SchemaTooNew as exc:
            raise RunFailed(str(exc)) from None
        except (OSError, sqlite3.Error) as exc:
            raise RunFailed(f"archive {self.root} is not usable: {exc}. "
                            "Check the path and its permissions, or pass --archive DIR.") from None

    def close(self) -> None:
        self.index.close()


def open_archive(root: Path) -> Archive:
    return Archive(root)


def execute(manifest_paths: list[str], options: Options, command: str = "check") -> Report:
    """Run ``check`` (facts only) or ``archive`` (facts and bytes) over manifests."""
    manifests = load_all(manifest_paths)  # raises ManifestError before anything is touched
    documents = [d for m in manifests for d in m.documents]
    keep_bytes = command == "archive"
    archive = Archive(options.archive)
    started = now()
    try:
        index = archive.index
        run_id = index.start_run(command, started, __version__, [m.path for m in manifests])
        index.upsert_documents(documents, started)
        tasks = plan(documents, index, keep_bytes, archive.blobs.has)
        # Each run downloads into its own folder: two runs on one archive never touch each other's
        # partial files, and whatever a killed run leaves there is never trusted.
        run_tmp = Path(tempfile.mkdtemp(prefix=f"run-{run_id}-", dir=archive.tmp))
        try:
            with _warc_log(archive, keep_bytes, started, run_id) as warc:
                recorder = Recorder(index, archive.blobs, warc, started)
                results = _observe_all(tasks, options, archive, recorder, run_tmp, keep_bytes, run_id)
        finally:
            shutil.rmtree(run_tmp, ignore_errors=True)
        report = Report(run_id=run_id, command=command, started_at=started, finished_at=now(),
                        tool_version=__version__, manifests=[m.path for m in manifests], documents=results)
        index.finish_run(run_id, report.finished_at, report.exit_code("error"))
        return report
    except sqlite3.Error as exc:
        raise RunFailed(f"index {archive.index.path}: {exc}") from None
    finally:
        archive.close()


@contextmanager
def _warc_log(archive: Archive, keep_bytes: bool, started: str, run_id: int) -> Iterator[WarcLog | None]:
    """``archive`` writes one gzip WARC per run, named with the run's time; ``check`` writes none."""
    if not keep_bytes:
        yield None
        return
    name = f"linkwatch-{started.replace(':', '').replace('-', '')}-run{run_id}.warc.gz"
    with open_run_warc(archive.root / "warc", name) as log:
        yield log


def _observe_all(tasks: list[Task], options: Options, archive: Archive, recorder: Recorder, tmp: Path,
                 keep_bytes: bool, run_id: int) -> list[DocumentResult]:
    results: dict[int, DocumentResult] = {}
    order = {id(t): i for i, t in enumerate(tasks)}
    workers = max(1, min(options.concurrency, os.cpu_count() or 1))
    with Fetcher(options.fetch_config()) as fetcher, \
            Inspector(workers=workers, timeout=options.inspect_timeout, memory_mb=options.inspect_memory_mb) as inspector, \
            _Progress(options.progress, len(tasks)) as advance:
        observer = _Observer(fetcher, inspector, archive, tmp, keep_bytes)
        for outcome in _bounded_map(observer.observe, tasks, options.concurrency):
            outcome.observation.run_id = run_id
            recorder.record(outcome.observation, outcome.findings, outcome.stored)
            results[order[id(outcome.task)]] = to_result(outcome.task.document, outcome.observation,
                                                          outcome.findings, outcome.task.previous, archive.index)
            advance(outcome.task.document.id)
    return [results[i] for i in sorted(results)]


def _bounded_map(fn: object, tasks: list[Task], concurrency: int) -> Iterator[Outcome]:
    """Like ``executor.map`` but with a bounded window, so a 10,000-line manifest holds
    ~2×concurrency pending futures, not 10,000; yields in completion order."""
    window = max(1, concurrency) * 2
    pending: set[Future[Outcome]] = set()
    todo = iter(tasks)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="linkwatch") as pool:
        for task in todo:
            pending.add(pool.submit(fn, task))  # type: ignore[arg-type]
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)


class _Observer:
    """Observes one document: fetch (primary URL, then mirrors), inspect, judge, keep bytes."""

    def __init__(self, fetcher: Fetcher, inspector: Inspector, archive: Archive, tmp: Path, keep_bytes: bool) -> None:
        self.fetcher, self.inspector, self.archive = fetcher, inspector, archive
        self.tmp, self.keep_bytes = tmp, keep_bytes

    def observe(self, task: Task) -> Outcome:
        doc = task.document
        first: Outcome | None = None
        for url in doc.urls:
            outcome = self._observe_url(task, url)
            if outcome.observation.status == "ok" or first is None:
                if first is not None:  # a mirror answered where the primary did not
                    outcome.findings.append(Finding(
                        "mirror", "warning", f"primary URL failed ({first.observation.status}); served by mirror {url}"))
                if outcome.observation.status == "ok":
                    return outcome
                first = first or outcome
        assert first is not None
        return first

    def _observe_url(self, task: Task, url: str) -> Outcome:
        doc = task.document
        cached = task.validators.get(url)
        fetched = self.fetcher.fetch(url, self.tmp, etag=cached.etag if cached else None,
                                     last_modified=cached.last_modified if cached else None)
        obs = Observation.from_fetch(doc.id, fetched, __version__)
        stored = False
        try:
            if obs.not_modified and cached is not None:
                obs = obs.carry_content(cached)
                obs.archived = cached.archived
            elif fetched.body_path is not None:
                obs.inspection = self._inspect(doc, obs, fetched.body_path)
            obs.status, findings = judge(doc, obs, task.previous)
            if self.keep_bytes and fetched.body_path is not None and obs.sha256:
                self.archive.blobs.put(fetched.body_path, obs.sha256)
                obs.archived = stored = True
        finally:
            if fetched.body_path is not None:
                Path(fetched.body_path).unlink(missing_ok=True)
        return Outcome(task, obs, findings, stored)

    def _inspect(self, doc: Document, obs: Observation, body: Path):  # -> Inspection | None
        if obs.sniffed == "pdf":
            return self.inspector.inspect(body)
        if obs.sniffed == "html" and doc.kind == "page":
            return inspect_page(body)
        return None


def to_result(doc: Document, obs: Observation, findings: list[Finding],
              previous: Observation | None, index: Index) -> DocumentResult:
    """One report line from a document and its judged observation (recorded in ``index``)."""
    ins = obs.inspection
    kept = index.latest_archived(doc.id)
    return DocumentResult(
        id=doc.id, manifest=doc.manifest, line=doc.line, kind=doc.kind, expected_symbols=list(doc.symbols),
        expected_title=doc.title, url=obs.url, status=obs.status or "unverified", severity=worst(findings),
        http_status=obs.http_status, final_url=obs.final_url, content_type=obs.content_type, size=obs.size,
        sha256=obs.sha256, previous_sha256=previous.sha256 if previous else None, not_modified=obs.not_modified,
        symbols=list(ins.symbols) if ins else [], title=ins.title if ins else None, lang=ins.lang if ins else None,
        pages=ins.pages if ins else None, checked_at=obs.observed_at, error=obs.error or (ins.error if ins else None),
        findings=findings, elapsed=round(obs.elapsed, 3),
        archived_sha256=kept[0] if kept else None, archived_at=kept[1] if kept else None,
        archived_path=str(BlobStore.relative_path(kept[0])) if kept else None, timeline=index.timeline(doc.id),
    )


class _Progress:
    """A rich progress bar on stderr, only when stderr is a terminal (CI logs stay clean)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self.total = total

    def __enter__(self):  # -> Callable[[str], None]
        if not self.enabled:
            return lambda _doc_id: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.description}"),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("", total=self.total)
        return lambda doc_id: self.bar.update(task, advance=1, description=doc_id[:30])

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()


def _probe_writable(folder: Path) -> None:
    probe = folder / f".probe-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


