"""Campaigns: the shards of one scheduled run on one index (SQLite or PostgreSQL), seen as one picture
without `merge`; a retried or SIGKILLed shard observes each document once, and loses nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import Content, Delay, LocalServer
from services import index_rows

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "tests" / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
pytestmark = pytest.mark.usefixtures("backend")  # on the SQLite index and on PostgreSQL


@pytest.fixture
def hosts() -> Iterator[list[LocalServer]]:
    servers = [LocalServer(host=h).start() for h in HOSTS]
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


def _manifest(hosts: list[LocalServer], tmp_path: Path, per_host: int, delay: float) -> tuple[Path, list[str]]:
    handler = Delay(delay, Content.file(PDF, "application/pdf"))
    lines, ids = [], []
    for h, srv in enumerate(hosts):
        for i in range(per_host):
            ids.append(f"h{h}-{i}")
            lines.append(f'[[document]]\nid = "{ids[-1]}"\nurl = "{srv.route(f"/{i}.pdf", handler)}"\n')
    path = tmp_path / "m.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, ids


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "linkwatch", *args]


def _check(manifest: Path, archive: Path, shard: str, campaign: str, *extra: str) -> list[str]:
    return _cli("check", str(manifest), "--archive", str(archive), "--shard", shard, "--campaign", campaign,
                "--min-interval", "0", "--retries", "0", "--timeout", "20", "--no-progress", "--fail-on", "never",
                "--format", "json", *extra)


def test_shards_of_a_campaign_make_one_picture_and_a_retried_shard_adds_nothing(
        hosts: list[LocalServer], tmp_path: Path) -> None:
    manifest, ids = _manifest(hosts, tmp_path, per_host=3, delay=0.0)
    archive = tmp_path / "archive"
    procs = [subprocess.Popen(_check(manifest, archive, f"{k}/3", "nightly-1"), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for k in (1, 2, 3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read().decode() if p.stderr else ""
    status = subprocess.run(_cli("status", "--archive", str(archive), "--campaign", "nightly-1", "--format", "json"),
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sorted(d["id"] for d in json.loads(status.stdout)["documents"]) == sorted(ids)  # no merge needed
    hits = sum(s.hits() for s in hosts)
    again = subprocess.run(_check(manifest, archive, "2/3", "nightly-1"), cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sum(s.hits() for s in hosts) == hits  # the retried shard asked nobody again
    reported = json.loads(again.stdout)["documents"]
    assert reported and all(d["status"] == "ok" for d in reported)  # and still reports its documents
    counts = index_rows(archive, "SELECT document_id, COUNT(*) FROM observations WHERE campaign = ? "
                                 "GROUP BY document_id", ("nightly-1",))
    assert sorted(counts) == sorted((i, 1) for i in ids)
    runs = index_rows(archive, "SELECT COUNT(*) FROM runs WHERE campaign = ?", ("nightly-1",))
    assert runs == [(4,)]


def test_a_sigkilled_shard_rerun_loses_nothing_and_observes_each_document_once(
        hosts: list[LocalServer], tmp_path: Path) -> None:
    manifest, ids = _manifest(hosts[:1], tmp_path, per_host=12, delay=0.3)
    archive = tmp_path / "archive"
    run = _check(manifest, archive, "1/1", "weekly", "--concurrency", "2", "--per-host", "2")
    victim = subprocess.Popen(run, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_done(archive)) < 3:  # killed once some documents are recorded, before all are
        assert victim.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    before = _done(archive)
    assert 3 <= len(before) < len(ids)
    fetched = {r.path for r in hosts[0].requests()}
    rerun = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(d["id"] for d in json.loads(rerun.stdout)["documents"]) == sorted(ids)
    assert sorted(_done(archive)) == sorted(ids)  # nothing lost, nothing twice (one row per document)
    for doc in before:  # what was recorded before the kill was not fetched again
        path = f"/{doc.split('-')[1]}.pdf"
        assert path in fetched and hosts[0].hits(path) == 1, path


def _done(archive: Path) -> list[str]:
    try:
        return [r[0] for r in index_rows(archive, "SELECT document_id FROM observations WHERE campaign = 'weekly'")]
    except Exception:  # the index is still being created by the run
        return []
