"""Memory bounded at any manifest size: a run plans a window of documents ahead of the fetching,
and writes its report lines to disk as they come (report.spool), reading them back in manifest
order for every format."""
from __future__ import annotations

import pickle
import queue
import threading
import weakref
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Redirect, Status

import linkwatch
from linkwatch import plan as lwplan
from linkwatch.compare import Finding
from linkwatch.http.client import FetchResult
from linkwatch.manifest import Document
from linkwatch.plan import Task
from linkwatch.report.formats import FORMATS, render
from linkwatch.report.model import DocumentResult, Report
from linkwatch.report.spool import ResultSpool
from linkwatch.run import _in_bulk

FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


def _result(i: int, status: str = "ok", findings: tuple[Finding, ...] = ()) -> DocumentResult:
    return DocumentResult(id=f"d{i}", manifest="m.toml", line=i * 3 + 1, kind="pdf", expected_symbols=[f"A/{i}"],
                          expected_title=None, url=f"https://x.org/{i}.pdf", status=status, severity=None,
                          http_status=200, findings=list(findings), title="Tïtle \x1b[31m",
                          timeline=[{"at": "2026-01-01T00:00:00Z", "status": status}])


def test_spool_reads_lines_back_in_position_order_whatever_order_they_came_in(tmp_path: Path) -> None:
    lines = [_result(0), _result(1, "broken", (Finding("broken", "error", "HTTP 404"),)), _result(2),
             _result(3, "moved", (Finding("moved", "warning", "301"), Finding("title", "info", "t")))]
    spool = ResultSpool(5, tmp_path)
    for p in (3, 0, 2, 1):  # completion order; position 4 never finished (a stopped run)
        spool.put(p, lines[p])
    spool.seal()
    assert list(spool) == lines and len(spool) == 4 and spool
    assert spool[1] == lines[1] and spool[-1] == lines[3] and spool[1:3] == lines[1:3]
    assert list(spool) == list(spool)  # read again from disk, as often as a format asks
    assert spool.briefs() == [("ok", (), None), ("broken", ("error",), "error"), ("ok", (), None),
                              ("moved", ("warning", "info"), "warning")]
    assert pickle.loads(pickle.dumps(spool)) == lines  # copies are plain lists
    assert list(tmp_path.iterdir()) == []  # an anonymous file: nothing left behind, whatever happens


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_spooled_report_exactly_as_a_listed_one(tmp_path: Path, fmt: str) -> None:
    lines = [_result(i, *(("broken", (Finding("broken", "error", "HTTP 404"),)) if i % 3 == 0 else ()))
             for i in range(12)]
    spool = ResultSpool(len(lines), tmp_path)
    for p in reversed(range(len(lines))):
        spool.put(p, lines[p])
    head = dict(run_id=1, command="check", started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z",
                tool_version="0", manifests=["m.toml"], archive=str(tmp_path))
    listed, spooled = Report(**head, documents=lines), Report(**head, documents=spool.seal())
    assert spooled.counts() == listed.counts() and spooled.worst_severity() == listed.worst_severity() == "error"
    assert render(spooled, fmt, width=120) == render(listed, fmt, width=120)


def test_bulk_requests_are_planned_a_bounded_window_ahead_of_the_results() -> None:
    doc = Document(id="d", url="https://x.org/d.pdf")
    planned: list[int] = []
    window, n = 100, 3000

    def tasks():
        for p in range(n):
            planned.append(p)
            yield Task(doc, position=p)

    def prober(items):  # reads its work in another thread, as the Prober's feeder does
        q: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=lambda: [q.put(it) for it in items] + [q.put(None)], daemon=True).start()
        batch = []
        while (item := q.get()) is not None:
            batch.append((item[0], FetchResult(item[1], "2026-01-01T00:00:00Z")))
            if len(batch) == 16:
                yield batch
                batch = []
        if batch:
            yield batch

    done, most_ahead = [], 0
    for batch in _in_bulk(prober, tasks(), lambda t: (t.document.url,), window):
        done += [task.position for task, _ in batch]
        most_ahead = max(most_ahead, len(planned) - len(done))
    assert sorted(done) == list(range(n))
    assert most_ahead <= window + 1  # planning all of them up front would be 3,000


@pytest.mark.parametrize("availability_only", [True, False], ids=["bulk-prober", "revalidation"])
def test_a_run_holds_a_window_of_tasks_not_the_whole_manifest(
        tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch, availability_only: bool) -> None:
    n = 700  # well over the planning window (256 at --concurrency 8)
    page = Content(b"<!doctype html><title>A page</title>", "text/html")  # pages: no PDF worker needed
    routes = {i: server.route(f"/{i}.html", page if i % 10 else Status(404) if i % 20 else Redirect("/1.html", 301))
              for i in range(n)}
    manifest = tmp_path / "m.toml"
    manifest.write_text("".join(f'[[document]]\nid = "d{i}"\nurl = "{u}"\nkind = "page"\n' for i, u in routes.items()))
    archive = tmp_path / "archive"
    if not availability_only:  # a re-run: every document has validators, revalidated in bulk
        linkwatch.check(manifest, archive=archive, concurrency=8, **FAST)
    live = [0]  # tasks planned and not yet garbage
    most = 0
    plan_one = lwplan.Planner.__call__

    def planning(self, doc, position=0):
        nonlocal most
        task = plan_one(self, doc, position)
        live[0] += 1
        weakref.finalize(task, lambda: live.__setitem__(0, live[0] - 1))
        most = max(most, live[0])
        return task

    monkeypatch.setattr(lwplan.Planner, "__call__", planning)
    report = linkwatch.check(manifest, archive=archive, concurrency=8, availability_only=availability_only, **FAST)
    assert isinstance(report.documents, ResultSpool)
    assert [d.id for d in report.documents] == [f"d{i}" for i in range(n)]  # manifest order
    assert report.counts()["by_status"]["broken"] == n // 20
    assert 0 < most <= 256 + 64, most  # the window, and a batch of results being recorded
