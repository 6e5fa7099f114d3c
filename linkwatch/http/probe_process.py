"""The probing process of ``Prober(process=True)``: the bulk client's event loop in a child Python
process with a core of its own, fed pickled work on its stdin, answering pickled result batches on
its stdout; and spare processes started early (:func:`warm_prober`) to hide its start-up."""
from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .prober import Prober

K = TypeVar("K")
Work = tuple[K, str, "str | None", "str | None"]  # key, url, etag, last_modified


@dataclass
class End:
    """The event loop has finished (with the exception that stopped it, if any: in a child
    process, its text)."""

    error: BaseException | str | None = None


def spawn() -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """A probing process (:func:`child_main`), and the file its stderr goes to."""
    stderr = tempfile.TemporaryFile()
    try:
        return subprocess.Popen([sys.executable, "-c", "from linkwatch.http.probe_process import child_main; child_main()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=_child_env()), stderr
    except OSError:
        stderr.close()
        raise


SPARES: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []  # started by warm_prober, not yet used
SPARES_LOCK = threading.Lock()


@contextlib.contextmanager
def warm_prober(wanted: bool = True) -> Iterator[None]:
    """Start a probing process now, for a ``Prober(process=True)`` made later in the block: its
    start-up (Python and aiohttp's imports, ~0.2 s) then overlaps whatever the caller does first
    (reading manifests, planning). Stopped at the end of the block if nothing used it."""
    with SPARES_LOCK:
        wanted = wanted and not SPARES  # one already waits (the CLI started it): enough
    try:
        spare = spawn() if wanted else None
    except OSError:
        spare = None
    if spare is None:
        yield
        return
    with SPARES_LOCK:
        SPARES.append(spare)
    try:
        yield
    finally:
        with SPARES_LOCK:
            unused = spare in SPARES
            if unused:
                SPARES.remove(spare)
        if unused:
            stop(*spare)


def stop(child: subprocess.Popen[bytes], stderr: IO[bytes], before_close: Callable[[], None] = lambda: None) -> None:
    """Kill a probing process if it still runs, reap it, close its pipes (after ``before_close``:
    the thread feeding its stdin)."""
    if child.poll() is None:
        child.kill()
    child.wait()
    before_close()
    for f in (child.stdin, child.stdout, stderr):
        with contextlib.suppress(OSError, ValueError):
            f.close()  # type: ignore[union-attr]


def child_main() -> None:
    """The probing process of ``Prober(process=True)``: stdin gives (config, concurrency,
    revalidate), then ``(index, url, etag, last_modified)`` items up to None; stdout gets lists of
    ``(index, FetchResult)``, then an End."""
    import aiohttp  # noqa: F401 - before waiting for work: a warm spare has its imports done

    from .prober import Prober

    # Ctrl-C reaches the whole process group: the parent decides when this process stops (it
    # records what was probed, then kills it), as it does for the inspection workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    inp = sys.stdin.buffer
    config, concurrency, revalidate = pickle.load(inp)

    def items() -> Iterator[Work[int]]:
        while (item := pickle.load(inp)) is not None:
            yield item

    asyncio.run(_serve_probes(Prober(config, concurrency), items(), revalidate))


def _exit_with_parent(parent: int) -> None:
    """Stop this probing process as soon as its parent is gone (killed: SIGKILL runs no clean-up),
    rather than finish requests nobody will read (a hanging server holds one up to the timeout
    times the retries)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


async def _serve_probes(prober: Prober, items: Iterable[Work[int]], revalidate: bool) -> None:
    """Probe ``items``, writing results to stdout through an asyncio pipe transport: its writes
    never block the loop (a thread writing instead cost ~40% more CPU per result, GIL hand-offs),
    and whatever completes in one turn of the loop goes as one batch."""
    loop = asyncio.get_running_loop()
    closed = loop.create_future()

    class Pipe(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            if not closed.done():
                closed.set_result(None)

    transport, _ = await loop.connect_write_pipe(Pipe, sys.stdout.buffer)
    pending: list[Any] = []

    def flush() -> None:
        transport.write(pickle.dumps(pending, pickle.HIGHEST_PROTOCOL))
        pending.clear()

    def emit(result: Any) -> None:
        if not pending:
            loop.call_soon(flush)
        pending.append(result)

    error = None
    try:
        await prober._probe_all(items, emit, revalidate)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        error = f"{type(exc).__name__}: {exc}"
    if pending:
        flush()
    transport.write(pickle.dumps(End(error)))
    transport.close()  # after the buffered bytes are written
    await closed


def _child_env() -> dict[str, str]:
    """The environment of the probing process: this linkwatch importable, whatever sys.path did it."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the linkwatch package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def child_failed(child: subprocess.Popen[bytes], stderr: IO[bytes], failed: list[BaseException],
                  error: str | None = None) -> BaseException:
    if failed:
        return failed[0]
    if error is None:
        child.wait()
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode("utf-8", "replace").strip()
        error = f"exited with code {child.returncode}" + (f": {tail}" if tail else "")
    return RuntimeError(f"the probing process failed: {error}")
