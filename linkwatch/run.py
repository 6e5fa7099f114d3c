"""A run: manifest → plan → fetch → inspect → compare → record → report, over many documents.

Documents are observed concurrently in a thread pool (``concurrency``); the fetcher enforces the
per-host limits, the inspector runs PDFs in sandboxed worker processes, and only the main thread
writes the index (one writer, short transactions).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .store.blobs import BlobStore
from .compare import Finding, worst
from .http.client import FetchConfig, FetchResult
from .http.fetcher import Fetcher
from .http.prober import Prober
from .http.probe_process import warm_prober
from .http.proxy import from_environment, proxy_for
from .store.archive import Archive, Unusable, index_errors
from .store.archive import exists as archive_exists
from .store.index import Index
from .pdf.inspect import Inspector
from .manifest import Document, Manifest, load_all
from .observation import Observation
from .observe import Observer, Outcome
from .plan import Planner, Task
from .progress import Progress
from .store.record import Recorder
from .report.model import DocumentResult, Report
from .report.spool import ResultSpool
from .un.resolve import DEFAULT as DEFAULT_RESOLVERS
from .un.resolve import Resolvers
from .schedule import by_host
from .select import select as select_documents
from .shard import select as select_shard
from .stopping import Stopped, Stopper
from .validation import check_options
from .timestamps import now
from .store.warc import open_run_warc, run_warc_name, WarcLog
from .wayback import DEFAULT_CDX_URL, open_wayback


if TYPE_CHECKING:
    from .store.booking import HostBookings


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
    # The transient rule: an `unreachable` (or 5xx) document that was ok before is a warning until it
    # fails this many runs in a row (compare.judge); 1 makes every failure an error at once.
    transient: int = 2
    shard: tuple[int, int] | None = None  # (K, N): only the documents of shard K of N (linkwatch.shard)
    shard_by: str = "host"  # "host": a shard owns whole hosts; "document": by a hash of the id
    # --index postgresql://…: the shared index (linkwatch.store.postgres); None: archive/index.sqlite
    index: str | None = field(default_factory=lambda: os.environ.get("LINKWATCH_INDEX") or None)
    # --store s3://bucket/prefix: snapshots and WARCs in object storage (linkwatch.store.s3)
    store: str | None = field(default_factory=lambda: os.environ.get("LINKWATCH_STORE") or None)
    # --campaign NAME: the shards of one scheduled run; a document is observed once per campaign
    campaign: str | None = field(default_factory=lambda: os.environ.get("LINKWATCH_CAMPAIGN") or None)
    # Base URLs for symbol-only entries and mirrors = "auto" (the real UN services by default).
    resolvers: Resolvers = DEFAULT_RESOLVERS
    # --suggest: for broken, unreachable and wrong-document documents, ask a web archive's CDX API
    # for a capture (linkwatch.wayback); the manifest's [defaults] suggest = true does it per manifest.
    suggest: bool = False
    cdx_url: str = DEFAULT_CDX_URL
    replay_url: str | None = None  # where captures are replayed; default derived from cdx_url
    min_rate: float = 1024.0  # bytes/s a body must keep arriving at (over windows of `timeout` s)
    ca_bundle: str | None = None  # PEM file of CAs to trust instead of the default bundle
    # Per-host request headers ({"documents.un.org": {"Authorization": "..."}}): merged with the
    # manifests' [hosts."…"] tables; sent only to that host, recorded redacted.
    host_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    secret_values: frozenset[str] = frozenset()  # values never recorded (from env: references)
    # --availability-only: HTTP only, like a link checker — HEAD (GET when a server refuses HEAD),
    # no body downloaded, nothing inspected; `ok` then means "the final response is 2xx".
    availability_only: bool = False
    # --max-time: the run stops by itself after this many seconds, records and reports what it
    # observed, marked incomplete (a CI job killed at its time limit leaves nothing). None: no limit.
    max_time: float | None = None
    # --max-document-time: one document (every attempt, redirect, body byte) within this many seconds.
    max_document_time: float | None = 600.0
    # --allow-internal-redirects: follow a redirect from a public address into an internal one
    # (refused by default: see http.client.FetchConfig); internal_networks redefines "internal".
    allow_internal_redirects: bool = False
    internal_networks: tuple[str, ...] | None = None
    # --proxy: the forward proxy of every request (else HTTP_PROXY / HTTPS_PROXY); NO_PROXY holds.
    proxy: str | None = None
    user_agent: str | None = None  # --user-agent: instead of linkwatch's own (per host: [hosts."…"] headers)
    # --include / --exclude: globs on document ids and URLs (linkwatch.select)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def fetch_config(self) -> FetchConfig:
        return FetchConfig(timeout=self.timeout, retries=self.retries, backoff=self.backoff,
                           retry_after_cap=self.retry_after_cap, max_size=self.max_size,
                           per_host=self.per_host, min_interval=self.min_interval, min_rate=self.min_rate,
                           ca_bundle=self.ca_bundle, host_headers=self.host_headers,
                           secret_values=self.secret_values, allow_internal_redirects=self.allow_internal_redirects,
                           internal_networks=self.internal_networks, max_time=self.max_document_time,
                           proxies=from_environment(self.proxy),
                           **({"user_agent": self.user_agent} if self.user_agent else {}))




def open_archive(options: Options) -> Archive:
    """The archive the options name (``--archive``, ``--index``), or :class:`RunFailed`."""
    try:
        return Archive(options.archive, options.index, options.store)
    except Unusable as exc:
        raise RunFailed(str(exc)) from None


class RunOptions(TypedDict, total=False):
    """The keyword options of ``linkwatch.check`` / ``linkwatch.archive``: the fields of
    :class:`Options`, typed for editors and type checkers (``archive`` may also be a str)."""

    archive: str | Path
    concurrency: int
    per_host: int
    min_interval: float
    timeout: float
    retries: int
    backoff: float
    retry_after_cap: float
    max_size: int
    inspect_timeout: float
    inspect_memory_mb: int
    progress: bool
    transient: int
    shard: tuple[int, int] | None
    resolvers: Resolvers
    suggest: bool
    cdx_url: str
    replay_url: str | None
    min_rate: float
    ca_bundle: str | None
    host_headers: dict[str, dict[str, str]]
    secret_values: frozenset[str]
    availability_only: bool
    proxy: str | None
    user_agent: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    max_time: float | None
    max_document_time: float | None
    allow_internal_redirects: bool
    internal_networks: tuple[str, ...] | None
    shard_by: str
    index: str | None
    store: str | None
    campaign: str | None


def execute(manifest_paths: list[str], options: Options, command: str = "check") -> Report:
    """Run ``check`` (facts only) or ``archive`` (facts and bytes) over manifests.

    Raises :class:`~linkwatch.validation.OptionError` for an option that cannot work, before anything."""
    check_options(options)
    # The bulk path's process (http.prober.Prober) starts now: its ~0.2 s of start-up overlaps reading
    # the manifests and planning, on the other core.
    bulk_likely = not options.suggest and (options.availability_only or archive_exists(options.archive, options.index))
    with warm_prober(bulk_likely):
        return _execute(manifest_paths, options, command)


def _execute(manifest_paths: list[str], options: Options, command: str) -> Report:
    manifests = load_all(manifest_paths, options.resolvers)  # raises ManifestError before anything is touched
    documents = covered(manifests, options)
    options = _with_hosts(options, manifests)
    keep_bytes = command == "archive"
    archive = open_archive(options)
    started = now()
    try:
        index = archive.index
        run_id = index.start_run(command, started, __version__, [m.path for m in manifests], options.campaign)
        index.upsert_documents(documents, started)
        # A campaign observes each document once: what an earlier attempt (a killed or retried
        # shard) recorded is reported as it is, not fetched again.
        done = index.campaign_done(options.campaign) if options.campaign else set()
        todo = [d for d in documents if d.id not in done] if done else documents
        # Planned a window ahead of the fetching (_observe_all), not all up front: a run holds what
        # the index says of the documents in flight only.
        planner = Planner(index, keep_bytes, archive.blobs.has, lambda d: options.suggest or d.suggest,
                          transient=options.transient)
        # Each run downloads into its own folder: two runs on one archive never touch each other's
        # partial files, and whatever a killed run leaves there is never trusted.
        run_tmp, run_lock = _run_tmp(archive.tmp, run_id)
        try:
            with _warc_log(archive, keep_bytes, started, run_id) as warc:
                recorder = Recorder(index, archive.blobs, warc, started, options.campaign)
                results, stopped = _observe_all(todo, planner, options, archive, recorder, run_tmp, keep_bytes,
                                                run_id)
        finally:
            shutil.rmtree(run_tmp, ignore_errors=True)
            os.close(run_lock)
        if done:
            results = _with_done(documents, done, results, index, options.campaign or "")
        incomplete = f"{stopped}: {len(results)} of {len(documents)} documents observed" if stopped else None
        report = Report(run_id=run_id, command=command, started_at=started, finished_at=now(),
                        tool_version=__version__, manifests=[m.path for m in manifests], documents=results,
                        archive=str(options.archive), incomplete=incomplete, title=manifest_titles(manifests))
        index.finish_run(run_id, report.finished_at, report.exit_code("error"))
        return report
    except index_errors() as exc:
        raise RunFailed(f"index {archive.index.location}: {exc}. Nothing stored before this was changed; "
                        "free space or fix permissions and run again.") from None
    except OSError as exc:  # disk full, read-only or quota while keeping bytes (fetch.StorageError too)
        raise RunFailed(f"archive {archive.root}: {exc.strerror or exc}"
                        f"{': ' + str(exc.filename) if exc.filename else ''}. Nothing stored before this "
                        "was changed; free space or fix permissions and run again.") from None
    finally:
        archive.close()


def _with_done(documents: list[Document], done: set[str], observed: Sequence[DocumentResult], index: Index,
               campaign: str) -> list[DocumentResult]:
    """The report's lines in manifest order: this run's, and the campaign's earlier ones for ``done``."""
    fresh = {r.id: r for r in observed}
    results = []
    for doc in documents:
        if doc.id not in done:
            if doc.id in fresh:  # absent: a stopped run did not reach it
                results.append(fresh[doc.id])
            continue
        obs = index.latest(doc.id, campaign)
        if obs is not None:
            results.append(to_result(doc, obs, index.findings(obs.id or 0), index.before(obs), index))
    return results


def manifest_titles(manifests: list[Manifest]) -> str | None:
    """The manifests' titles, "; "-joined, each once (None when none has a title)."""
    return "; ".join(dict.fromkeys(m.title for m in manifests if m.title)) or None


def covered(manifests: list[Manifest], options: Options) -> list[Document]:
    """The documents a run over ``manifests`` observes: --include/--exclude, then --shard."""
    documents = [d for m in manifests for d in m.documents]
    if options.include or options.exclude:
        documents = select_documents(documents, options.include, options.exclude)
    if options.shard is not None:
        documents = select_shard(documents, *options.shard, by=options.shard_by,
                                 same_host=[options.resolvers.redirecting_hosts()])
    return documents


@dataclass
class Planned:
    """What a run would ask for one document (``--dry-run``): first tries, in order."""

    document: Document
    method: str  # "GET", or "HEAD" for --availability-only
    urls: tuple[str, ...]  # the primary URL, then the mirrors tried when it fails
    proxies: tuple[str | None, ...]  # per URL, the proxy it would go through


def dry_run(manifest_paths: list[str], options: Options) -> list[Planned]:
    """The requests a run would start, without the network and without touching the archive."""
    manifests = load_all(manifest_paths, options.resolvers)
    config = _with_hosts(options, manifests).fetch_config()
    method = "HEAD" if options.availability_only else "GET"
    return [Planned(d, method, d.urls, tuple(proxy_for(u, config.proxies) for u in d.urls))
            for d in covered(manifests, options)]


def _with_hosts(options: Options, manifests: list) -> Options:
    """Options with the manifests' [hosts."…"] headers merged in (one value per host and header)."""
    from dataclasses import replace

    from .manifest import ManifestError

    merged = {h: dict(v) for h, v in options.host_headers.items()}
    secrets = set(options.secret_values)
    for m in manifests:
        for host in m.hosts:
            have = merged.setdefault(host.name, {})
            for name, value in host.headers:
                if have.get(name, value) != value:
                    raise ManifestError(m.path, host.line, f"hosts.{host.name}.headers.{name}",
                                        "set to a different value in another manifest of this run")
                have[name] = value
            secrets |= host.secrets
    if not merged and not secrets:
        return options
    return replace(options, host_headers=merged, secret_values=frozenset(secrets))


def _run_tmp(tmp: Path, run_id: int) -> tuple[Path, int]:
    """This run's download folder and the fd locking it; stale folders of dead runs are swept first.

    A run killed by SIGKILL cannot clean up: its folder stays, holding partial downloads that are
    never trusted (nothing reads another run's folder). Each live run holds an exclusive ``flock`` on
    its folder's ``.lock``, released by the kernel when the process dies however it dies, so the next
    run can tell a dead run's folder from a live one's (two runs may share an archive) and remove it.
    """
    import fcntl

    for stale in tmp.glob("run-*"):
        lock_path = stale / ".lock"
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except FileNotFoundError:  # killed before it locked: only a folder that is not brand new
            if _age(stale) > 60:
                shutil.rmtree(stale, ignore_errors=True)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live run holds it
        else:
            shutil.rmtree(stale, ignore_errors=True)
        finally:
            os.close(fd)
    folder = Path(tempfile.mkdtemp(prefix=f"run-{run_id}-", dir=tmp))
    # Locked under a temporary name, then renamed: nobody can open ".lock" before it is held.
    fd = os.open(folder / ".lock.new", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held until the caller closes fd (or the process dies)
    os.replace(folder / ".lock.new", folder / ".lock")
    return folder, fd


def _age(path: Path) -> float:
    import time

    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


@contextmanager
def _warc_log(archive: Archive, keep_bytes: bool, started: str, run_id: int) -> Iterator[WarcLog | None]:
    """``archive`` writes one gzip WARC per run, named with the run's time; ``check`` writes none."""
    if not keep_bytes:
        yield None
        return
    name = run_warc_name(started, run_id)
    with open_run_warc(archive.root / "warc", name) as log:
        yield log
    archive.keep_warc(archive.root / "warc" / name)  # complete: into the object store, if any


def _observe_all(documents: list[Document], planner: Planner, options: Options, archive: Archive,
                 recorder: Recorder, tmp: Path, keep_bytes: bool, run_id: int) -> tuple[ResultSpool, str | None]:
    """The report lines of the documents observed, in manifest order, and why the run stopped
    early (Ctrl-C, --max-time; None when every document was observed)."""
    # Report lines go to disk as they are made (report.spool), read back in manifest order.
    results = ResultSpool(len(documents), archive.tmp)
    workers = max(1, min(options.concurrency, os.cpu_count() or 1))
    suggesting = options.suggest or any(d.suggest for d in documents)
    bookings = _bookings(options)
    with bookings or contextlib.nullcontext(), Fetcher(options.fetch_config(), bookings) as fetcher, \
            open_wayback(suggesting, options.fetch_config(), tmp, options.cdx_url, options.replay_url) as wayback, \
            Inspector(workers=workers, timeout=options.inspect_timeout, memory_mb=options.inspect_memory_mb) as inspector, \
            Progress(options.progress, len(documents), options.per_host) as advance:
        observer = Observer(fetcher, inspector, archive.blobs, tmp, keep_bytes=keep_bytes,
                            transient=options.transient, availability_only=options.availability_only,
                            wayback=wayback, suggest=options.suggest)
        # Fetched host by host in turn (linkwatch.schedule): a manifest listed host by host must not
        # leave every worker waiting on one host's politeness. Results still come back in manifest order.
        # Booked politeness holds on the thread pool's requests; the bulk path's child process does
        # not book, so with bookings every request takes the thread pool.
        probe, revalidate, rest = (list(by_host(part, lambda p: _first_url(documents[p])))
                                   for part in _bulk_positions(documents, options, suggesting or bookings is not None))
        prober = Prober(options.fetch_config(), options.concurrency, process=True)
        window = max(256, 4 * options.concurrency)  # tasks planned ahead of the Prober
        plan_at = _PlanAt(documents, planner)
        changed: list[int] = []  # revalidated, not 304: fetched in full by the thread pool
        sources = [_probed(observer, prober, plan_at.each(probe), window),
                   _revalidated(observer, prober, plan_at.with_validators(revalidate, rest), changed, window),
                   _bounded_map(advance.watch(observer.observe), plan_at.later(rest, changed), options.concurrency)]
        stopped = None
        with Stopper(options.max_time) as stop:
            try:
                for batch in itertools.chain(*sources):
                    # Whatever finished together is recorded in one transaction: one commit per
                    # batch, not per document (never waiting for more: a crash loses nothing that
                    # had finished). A stop waits until the batch is recorded.
                    with stop.deferred(), archive.index.transaction():
                        for outcome in batch:
                            results.put(outcome.task.position, _recorded(outcome, recorder, archive.index, run_id))
                        recorder.flush()  # before the commit: the index never points at WARC records still in a buffer
                    for outcome in batch:
                        advance(outcome.task.document.id, outcome.observation)
            except Stopped as exc:
                stopped = exc.reason
                fetcher.stop()  # requests in flight end now; their documents are not reported
                for source in sources:
                    source.close()  # the probing process is stopped, queued documents dropped
    return results.seal(), stopped


def _recorded(outcome: Outcome, recorder: Recorder, index: Index, run_id: int) -> DocumentResult:
    """Record one judged observation; its report line. A document whose observation cannot be
    recorded (data the index or WARC cannot hold: a bug, never the disk) is reported with the
    reason, and the run goes on: one stranger's bytes never cost the other documents their record."""
    outcome.observation.run_id = run_id
    try:
        recorder.record(outcome.observation, outcome.findings, outcome.stored)
    except (ValueError, TypeError, sqlite3.InterfaceError, sqlite3.ProgrammingError) as exc:  # UnicodeError too
        obs = outcome.observation
        obs.error = f"{obs.error + '; ' if obs.error else ''}not recorded in the archive: {type(exc).__name__}: {exc}"
    result = to_result(outcome.task.document, outcome.observation, outcome.findings, outcome.task.previous, index)
    if outcome.memento is not None:
        m = outcome.memento
        result.memento_url, result.memento_at, result.memento_matches = m.url, m.at, m.matches
    return result


def _bookings(options: Options) -> HostBookings | None:
    """Per-host starts and slots booked in the shared index, when it is PostgreSQL (store.booking):
    overlapping runs (a campaign and an ad-hoc check) then share each host's limits."""
    if not options.index:
        return None
    from .store.booking import HostBookings

    return HostBookings(options.index, options.per_host, options.min_interval)


def _bulk_positions(documents: list[Document], options: Options,
                    suggesting: bool) -> tuple[list[int], list[int], list[int]]:
    """(availability checks, candidates for conditional requests, the rest), as positions in
    ``documents``: what goes through the bulk :class:`~linkwatch.http.prober.Prober`, and what
    through the thread pool.

    On the Prober's event loop (in a child process) a request costs a third of the thread pool's
    and none of this process's time (bench/RESULTS.md). So in bulk: availability checks, and
    documents with validators (a re-run: mostly 304s; those that changed are fetched in full
    afterwards; candidates found to have none when planned join the rest). Mirrors (tried one
    after another), web-archive suggestions and first fetches of a body take the thread pool."""
    if suggesting:
        return [], [], list(range(len(documents)))
    single: list[int] = []
    rest: list[int] = []
    for p, doc in enumerate(documents):
        (rest if doc.mirrors else single).append(p)
    return (single, [], rest) if options.availability_only else ([], single, rest)


def _first_url(doc: Document) -> str:
    return doc.urls[0] if doc.urls else ""


class _PlanAt:
    """Tasks for positions in ``documents``, planned (in this, the main thread) when they are
    about to be fetched."""

    def __init__(self, documents: list[Document], planner: Planner) -> None:
        self.documents, self.planner = documents, planner
        # Positions planned once already and found to have no history at all: their task is the
        # empty Task, no need to ask the index twice (a first run's every document).
        self.fresh: set[int] = set()

    def each(self, positions: list[int]) -> Iterator[Task]:
        for p in positions:
            yield self.planner(self.documents[p], p)

    def with_validators(self, positions: list[int], others: list[int]) -> Iterator[Task]:
        """The tasks of ``positions`` that have validators for their URL; the others join ``others``."""
        for task in self.each(positions):
            if task.document.urls[0] in task.validators:
                yield task
            else:
                others.append(task.position)
                if task.previous is None:
                    self.fresh.add(task.position)

    def later(self, rest: list[int], changed: list[int]) -> Iterator[Task]:
        """The thread pool's tasks: ``rest`` host by host, then ``changed`` (filled meanwhile)."""
        documents = self.documents
        for p in itertools.chain(by_host(rest, lambda p: _first_url(documents[p])), changed):
            yield Task(documents[p], position=p) if p in self.fresh else self.planner(documents[p], p)


class _Ahead:
    """Work for another thread (the Prober's feeder) made in this one, a bounded window ahead:
    :meth:`top_up` after each batch of results keeps ``window`` items out; the other thread reads
    :meth:`items`. ``window`` must exceed the Prober's concurrency (its reader blocks for more)."""

    _END = object()

    def __init__(self, source: Iterator[Any], window: int) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._source, self._window, self._out, self._ended = source, window, 0, False

    def items(self) -> Iterator[Any]:
        while (item := self._queue.get()) is not self._END:
            yield item

    def top_up(self, done: int = 0) -> None:
        self._out -= done
        while not self._ended and self._out < self._window:
            item = next(self._source, self._END)
            self._queue.put(item)
            self._ended = item is self._END
            self._out += 1

    def close(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put(self._END)


def _in_bulk(call: Callable[[Iterator[Any]], Iterator[list[tuple[int, FetchResult]]]], tasks: Iterator[Task],
             request: Callable[[Task], tuple[Any, ...]], window: int) -> Iterator[list[tuple[Task, FetchResult]]]:
    """``call`` (a Prober method) over ``tasks``, planned a window ahead: (task, result) batches."""
    pending: dict[int, Task] = {}

    def work() -> Iterator[tuple[Any, ...]]:
        for task in tasks:
            pending[task.position] = task
            yield (task.position, *request(task))

    ahead = _Ahead(work(), window)
    ahead.top_up()
    if not pending:
        return
    results = call(ahead.items())
    try:
        for batch in results:
            done = [(pending.pop(p), fetched) for p, fetched in batch]
            ahead.top_up(len(done))
            yield done
    finally:
        ahead.close()
        results.close()  # type: ignore[attr-defined]


def _probed(observer: Observer, prober: Prober, tasks: Iterator[Task], window: int) -> Iterator[list[Outcome]]:
    """Outcomes of the bulk availability path, in batches as they complete."""
    for batch in _in_bulk(prober.probe_all, tasks, lambda t: (t.document.urls[0],), window):
        yield [observer.checked(task, fetched) for task, fetched in batch]


def _revalidated(observer: Observer, prober: Prober, tasks: Iterator[Task], changed: list[int],
                 window: int) -> Iterator[list[Outcome]]:
    """Outcomes of bulk conditional requests; the positions whose document changed go to ``changed``."""
    def request(t: Task) -> tuple[str, str | None, str | None]:
        v = t.validators[t.document.urls[0]]
        return t.document.urls[0], v.etag, v.last_modified

    for batch in _in_bulk(prober.revalidate_all, tasks, request, window):
        outcomes = []
        for task, fetched in batch:
            outcome = observer.revalidated(task, fetched)
            if outcome is None:
                changed.append(task.position)
            else:
                outcomes.append(outcome)
        if outcomes:
            yield outcomes


def _bounded_map(fn: object, tasks: Iterable[Task], concurrency: int) -> Iterator[list[Outcome]]:
    """Like ``executor.map`` but with a bounded window, so a 10,000-line manifest holds
    ~2×concurrency pending futures, not 10,000; yields lists of the outcomes that completed
    together, in completion order."""
    window = max(1, concurrency) * 2
    pending: set[Future[Outcome]] = set()
    todo = iter(tasks)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="linkwatch")
    finished = False
    try:
        for task in todo:
            pending.add(pool.submit(fn, task))  # type: ignore[arg-type]
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield [f.result() for f in done]
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield [f.result() for f in done]
        finished = True
    finally:
        # Stopped early (Ctrl-C, --max-time, an error): queued documents are dropped and the ones
        # in flight are not waited for here (the caller stops the fetcher, which ends them).
        pool.shutdown(wait=finished, cancel_futures=True)


def to_result(doc: Document, obs: Observation, findings: list[Finding],
              previous: Observation | None, index: Index) -> DocumentResult:
    """One report line from a document and its judged observation (recorded in ``index``)."""
    ins = obs.inspection
    kept = index.latest_archived(doc.id, doc)
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
