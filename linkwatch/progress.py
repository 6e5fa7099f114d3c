"""Live progress on stderr while a run observes documents (rich), and sizes for people."""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .observation import Observation
from .plan import Task


class Progress:
    """Live progress on stderr: documents done, bytes downloaded, the hosts being asked right now.

    Only when stderr is a terminal and not switched off (``--no-progress``, ``--quiet``): CI logs
    and pipes stay clean. ``rich`` honours ``NO_COLOR`` and ``TERM=dumb`` itself. Used as::

        with Progress(enabled, total) as progress:
            for batch in _bounded_map(progress.watch(observe), tasks, n):     # hosts in flight
                progress(doc_id, observation)                                  # one more done
    """

    def __init__(self, enabled: bool, total: int, per_host: int | None = None) -> None:
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self.total = total
        self.per_host = per_host  # --per-host: at most this many requests to one host at a time
        self.done = 0
        self.bytes = 0
        self.hosts: dict[str, int] = {}  # host → documents in flight there
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self.bar = Bar(TextColumn("[bold]checking"), BarColumn(bar_width=20), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                TextColumn("{task.fields[size]}"),
                                TextColumn("[dim]{task.fields[hosts]}"),
                                console=Console(stderr=True, highlight=False), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total, size="", hosts="")
        return self

    def watch(self, fn: Callable[[Task], Any]) -> Callable[[Task], Any]:
        """`fn` wrapped so that the host of its task's URL counts as busy while it runs."""
        def watched(task: Task) -> Any:
            host = urlsplit(task.document.url).hostname or "?"
            self._hosts(host, +1)
            try:
                return fn(task)
            finally:
                self._hosts(host, -1)
        return watched

    def __call__(self, doc_id: str, observation: Observation | None = None) -> None:
        """One more document done; its body's bytes count as downloaded (none for a 304)."""
        with self._lock:
            self.done += 1
            if observation is not None and not observation.not_modified:
                self.bytes += observation.size or 0
        self._refresh(advance=1)

    def _hosts(self, host: str, delta: int) -> None:
        with self._lock:
            self.hosts[host] = self.hosts.get(host, 0) + delta
            if self.hosts[host] <= 0:
                del self.hosts[host]
        self._refresh()

    def describe(self) -> tuple[str, str]:
        """("3.2 MB", "documents.un.org ×2 +6 waiting, unctad.org") as shown next to the bar.

        A host's count is its requests in flight, never more than ``--per-host``: documents of a
        host beyond that wait for a slot (politeness), and are counted as waiting."""
        with self._lock:
            busy = sorted(self.hosts.items(), key=lambda kv: (-kv[1], kv[0]))
            size = human_size(self.bytes) if self.bytes else ""
        shown = ", ".join(self._host(h, n) for h, n in busy[:3])
        if len(busy) > 3:
            shown += f" +{len(busy) - 3}"
        return size, shown

    def _host(self, host: str, n: int) -> str:
        active = n if self.per_host is None else min(n, self.per_host)
        waiting = n - active
        return host + (f" ×{active}" if active > 1 else "") + (f" +{waiting} waiting" if waiting else "")

    def _refresh(self, advance: int = 0) -> None:
        if not self.enabled:
            return
        size, hosts = self.describe()
        self.bar.update(self.task, advance=advance, size=size, hosts=hosts[:60])

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()


def human_size(size: int | None) -> str:
    """Bytes for people: ``512 B``, ``403.9 KB``, ``1.2 MB`` (powers of 1024)."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
