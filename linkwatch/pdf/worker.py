"""The sandboxed inspection worker: one process, many PDFs, JSON lines on stdin/stdout.

Started by :class:`linkwatch.pdf.inspect.Inspector`, never by hand (though
``python -m linkwatch.pdf.worker 1024`` works for debugging). Protocol, one JSON object per line:

- worker → parent, once at start: ``{"ready": true, "pid": N, "rlimit_as": BYTES}``
- parent → worker: ``{"op": "inspect", "path": P, "engine": "pypdf"|"poppler", "pdftotext": EXE}``
  → ``{"inspection": {...}}`` (engine "poppler" runs EXE, default ``pdftotext``, as a child: it
  inherits the address-space limit, and the parent kills the worker's whole process group)
- parent → worker: ``{"op": "text", "path": P, "max_pages": N|null}`` → ``{"text": "..."}`` or
  ``{"error": "..."}``

The address-space limit (RLIMIT_AS) is set after pypdf is imported, so a hostile PDF hits
MemoryError inside pypdf instead of swapping the machine. The wall-clock limit is the parent's
job: it kills this process when an answer is late. The worker exits at end of input.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import warnings
from pathlib import Path
from typing import BinaryIO

# Run by the parent with ``python -c``: register a bare ``linkwatch`` package so that only
# linkwatch.pdf.worker/inspect/symbols/quirks load in the sandbox, not the whole tool (HTTP, SQLite,
# rich…) that ``linkwatch/__init__`` pulls in: faster respawns, smaller memory baseline.
_BOOT = (
    "import sys, types\n"
    "pkg = types.ModuleType('linkwatch'); pkg.__path__ = [sys.argv[1]]\n"
    "sys.modules['linkwatch'] = pkg\n"
    "from linkwatch.pdf.worker import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def command(memory_mb: int) -> list[str]:
    """argv that starts one worker with an address-space limit of ``memory_mb`` MiB."""
    return [sys.executable, "-c", _BOOT, str(Path(__file__).resolve().parents[1]), str(int(memory_mb))]


def _limit_memory(memory_mb: int) -> int:
    """Cap this process's address space; returns the limit in bytes (never raises the hard limit)."""
    want = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = want if hard == resource.RLIM_INFINITY else min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _quiet() -> None:
    """Nothing pypdf logs reaches stderr. Its messages quote the file (a font's /Encoding name,
    with its ``#0A`` and ``#1B`` escapes decoded: line breaks, terminal escapes, a ``::error``
    workflow command), and this process's stderr is the user's terminal or CI log; what a file
    does wrong is reported as the inspection's result, never as pypdf's log."""
    import logging

    log = logging.getLogger("pypdf")
    log.addHandler(logging.NullHandler())  # logging's last-resort handler would print to stderr
    log.propagate = False
    log.setLevel(logging.CRITICAL + 1)
    warnings.simplefilter("ignore")


def _handle(message: dict) -> dict:
    from .engines import classify_error, read_pdf, read_pdf_poppler, read_text

    op, path = message.get("op"), message.get("path", "")
    if op == "inspect":
        if message.get("engine") == "poppler":
            return {"inspection": read_pdf_poppler(path, message.get("pdftotext") or "pdftotext").to_dict()}
        return {"inspection": read_pdf(path).to_dict()}
    if op == "text":
        try:
            return {"text": read_text(path, message.get("max_pages"))}
        except Exception as exc:  # noqa: BLE001 - reported to the parent as a kind of error
            return {"error": classify_error(exc)}
    return {"error": f"malformed: unknown op {op!r}"}


def _send(out: BinaryIO, reply: dict) -> None:
    out.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    """Serve requests from stdin until end of input."""
    argv = sys.argv[1:] if argv is None else argv
    memory_mb = int(argv[0]) if argv else 1024
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep fd 1 for the protocol alone: anything else printing to stdout goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _quiet()
    import pypdf  # noqa: F401 - imported before the memory limit, once per worker

    from . import engines  # noqa: F401

    limit = _limit_memory(memory_mb)
    _send(out, {"ready": True, "pid": os.getpid(), "rlimit_as": limit})
    for line in sys.stdin.buffer:
        try:
            reply = _handle(json.loads(line))
        except MemoryError:
            reply = {"error": "memory"}
        except Exception as exc:  # noqa: BLE001 - a bad request must not kill the worker
            reply = {"error": f"malformed: {type(exc).__name__}: {exc}"[:200]}
        _send(out, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
