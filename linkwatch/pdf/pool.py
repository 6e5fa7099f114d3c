"""The sandboxed worker pool: :class:`Inspector` runs :mod:`linkwatch.pdf.worker` processes, each
under an address-space limit, each request under a wall-clock limit (kill and respawn on expiry)."""
from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .engines import resolve_engine
from .model import Inspection, InspectError

class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _WorkerProcess:
    """One long-lived ``linkwatch.pdf.worker`` process speaking JSON lines on stdin/stdout."""

    STARTUP_TIMEOUT = 60.0  # interpreter + pypdf import, generous for loaded CI machines

    def __init__(self, memory_mb: int) -> None:
        from . import worker

        # Its own session and process group, so that kill() also reaches a pdftotext it started.
        self.proc = subprocess.Popen(
            worker.command(memory_mb), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            start_new_session=True,
        )
        self._buf = bytearray()
        try:
            ready = self._read_line(self.STARTUP_TIMEOUT)
        except (_Timeout, _Died, ValueError):
            ready = {}
        if ready.get("ready") is not True:
            self.kill()
            raise RuntimeError(f"inspection worker failed to start (exit code {self.proc.returncode})")

    def _read_line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = self._buf.find(b"\n")
        while end < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise _Died
                seen = len(self._buf)
                self._buf += chunk  # a full-text reply can be megabytes: search only the new part
                end = self._buf.find(b"\n", seen)
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return json.loads(line)

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its answer; raises _Timeout or _Died."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        except (BrokenPipeError, OSError) as exc:
            raise _Died from exc
        return self._read_line(timeout)

    def kill(self) -> None:
        """Kill the process and anything it started (pdftotext), and reap it."""
        if self.proc.returncode is None:
            # Not reaped yet, so the group id is still this worker's: SIGKILL the whole group, the
            # worker and a pdftotext it may be waiting for (dead or alive, the worker is reaped next).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()


class Inspector:
    """Thread-safe pool of sandboxed worker processes that inspect PDFs.

    Each worker is a long-lived process (``python -m linkwatch.pdf.worker``-equivalent) under an
    address-space limit of ``memory_mb`` (RLIMIT_AS, interpreter included); each request must be
    answered within ``timeout`` seconds or the worker is killed and replaced. Workers start
    lazily, at most ``workers`` at once; callers beyond that wait for an idle one.

    ``engine`` reads page 1: "poppler" (pdftotext, started by the worker: same address-space
    limit, killed with the worker on timeout), "pypdf", or "auto"/None: :func:`resolve_engine`
    (``$LINKWATCH_INSPECT_ENGINE``, else poppler when pdftotext is installed). Both engines give
    the same :class:`Inspection` on the UN fixtures; poppler is ~3× faster.
    """

    def __init__(self, workers: int = 2, timeout: float = 30.0, memory_mb: int = 1024,
                 engine: str | None = None) -> None:
        self.size, self.timeout, self.memory_mb = max(1, workers), timeout, memory_mb
        self.engine = resolve_engine(engine)
        self._pdftotext = shutil.which("pdftotext") if self.engine == "poppler" else None
        self._idle: queue.SimpleQueue[_WorkerProcess] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._live: set[_WorkerProcess] = set()
        self._slots = threading.Semaphore(self.size)
        self._closed = False

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(self) -> _WorkerProcess:
        self._slots.acquire()
        try:
            if self._closed:
                raise RuntimeError("Inspector is closed")
            while True:
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    break
                if w.proc.poll() is None:
                    return w
                self._discard(w)  # died while idle (killed from outside): not this file's fault
            w = _WorkerProcess(self.memory_mb)
            with self._lock:
                self._live.add(w)
            return w
        except BaseException:
            self._slots.release()
            raise

    def _release(self, w: _WorkerProcess, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put(w)
        else:
            self._discard(w)
        self._slots.release()

    def _discard(self, w: _WorkerProcess) -> None:
        # The replacement is spawned lazily by the next _acquire.
        w.kill()
        with self._lock:
            self._live.discard(w)

    def _call(self, message: dict, timeout: float | None) -> dict:
        """One request; a worker that dies is replaced and the request tried once more on a fresh
        one, so a worker killed from outside is not blamed on the file."""
        reply = self._call_once(message, timeout)
        if "died" in reply:
            reply = self._call_once(message, timeout)
        if "died" in reply:
            # Death under RLIMIT_AS (a C allocation failing, SIGKILL/SIGSEGV) is the usual cause.
            code = reply["died"]
            return {"error": "memory" if code < 0 else f"malformed: worker exited with {code}"}
        return reply

    def _call_once(self, message: dict, timeout: float | None) -> dict:
        w = self._acquire()
        healthy = False
        try:
            reply = w.request(message, self.timeout if timeout is None else timeout)
            # After a MemoryError the worker's heap may be in a bad state: start afresh.
            healthy = "memory" not in (reply.get("error"), reply.get("inspection", {}).get("error"))
            return reply
        except _Timeout:
            return {"error": "timeout"}
        except _Died:
            w.kill()  # the group too: a pdftotext it started must not outlive it
            return {"died": w.proc.returncode}
        finally:
            self._release(w, healthy)

    def inspect(self, path: str | os.PathLike[str], timeout: float | None = None) -> Inspection:
        """Inspect one PDF in a worker: symbols, title, language, pages, or an error.

        ``timeout`` overrides the pool's wall-clock limit for this call.
        """
        message = {"op": "inspect", "path": str(Path(path).resolve()), "engine": self.engine}
        if self._pdftotext:
            message["pdftotext"] = self._pdftotext
        reply = self._call(message, timeout)
        if "inspection" in reply:
            return Inspection(**reply["inspection"])
        return Inspection(error=reply.get("error", "malformed: no answer"))

    def extract_text(self, path: str | os.PathLike[str], max_pages: int | None = None,
                     timeout: float | None = None) -> str:
        """Full text (pages separated by form feeds) in a worker; raises InspectError on failure."""
        message = {"op": "text", "path": str(Path(path).resolve()), "max_pages": max_pages}
        reply = self._call(message, timeout)
        if "text" in reply:
            return reply["text"]
        raise InspectError(reply.get("error", "malformed: no answer"))

    def pids(self) -> list[int]:
        """Process ids of the live workers (diagnostics and tests)."""
        with self._lock:
            return sorted(w.proc.pid for w in self._live)

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        self._closed = True
        with self._lock:
            live, self._live = list(self._live), set()
        for w in live:
            w.kill()


def inspect_files(paths: Iterable[str | os.PathLike[str]],
                  inspector: Inspector | None = None) -> list[tuple[str, Inspection]]:
    """Inspect local files (``linkwatch inspect FILE...``) in sandboxed workers, all of them busy;
    results in the order given."""
    paths = [str(p) for p in paths]
    if inspector is None:
        with Inspector(workers=min(2, os.cpu_count() or 1)) as own:
            return inspect_files(paths, own)
    # One thread per worker process keeps every worker busy; results come back in order.
    with ThreadPoolExecutor(inspector.size) as threads:
        return list(zip(paths, threads.map(inspector.inspect, paths)))
