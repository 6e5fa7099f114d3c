"""Politeness across overlapping runs on a shared PostgreSQL index: per-host slots and starts are
booked in the database, held at the server, and a SIGKILLed worker's slots come back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpserver import Content, Delay, LocalServer

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "tests" / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
PER_HOST, INTERVAL = 2, 0.1
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _manifest(server: LocalServer, tmp_path: Path, name: str, count: int, delay: float) -> Path:
    handler = Delay(delay, Content.file(PDF, "application/pdf"))
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(f'[[document]]\nid = "{name}-{i}"\nurl = "{server.route(f"/{name}/{i}.pdf", handler)}"\n'
                              for i in range(count)), encoding="utf-8")
    return path


def _run(manifest: Path, archive: Path) -> list[str]:
    return [sys.executable, "-m", "linkwatch", "check", str(manifest), "--archive", str(archive),
            "--per-host", str(PER_HOST), "--min-interval", str(INTERVAL), "--concurrency", "6", "--retries", "0",
            "--timeout", "30", "--no-progress", "--fail-on", "never", "--format", "json", "--output", os.devnull]


def _assert_polite(server: LocalServer, window: float = 1.0) -> None:
    assert server.max_in_flight() <= PER_HOST
    starts = sorted(r.received_at for r in server.requests())
    allowed = int(window / INTERVAL) + 1 + 1  # one more for the server's timing jitter
    for i, t in enumerate(starts):
        assert sum(1 for u in starts[i:] if u - t < window) <= allowed, f"too many starts within {window} s of {t}"


def test_overlapping_runs_share_each_hosts_limits(backend: str, server: LocalServer, tmp_path: Path) -> None:
    weekly = _manifest(server, tmp_path, "weekly", 10, 0.3)
    adhoc = _manifest(server, tmp_path, "adhoc", 10, 0.3)
    procs = [subprocess.Popen(_run(m, tmp_path / m.stem), cwd=ROOT, stderr=subprocess.PIPE)
             for m in (weekly, adhoc)]  # two runs, two local folders, one index: one host
    for p in procs:
        assert p.wait(timeout=180) == 0, p.stderr.read().decode() if p.stderr else ""
    assert server.hits() == 20
    _assert_polite(server)


def test_a_killed_workers_slots_come_back(backend: str, server: LocalServer, tmp_path: Path) -> None:
    slow = _manifest(server, tmp_path, "slow", 6, 1.0)  # the killed run holds both slots when it dies
    quick = _manifest(server, tmp_path, "quick", 6, 0.0)
    victim = subprocess.Popen(_run(slow, tmp_path / "slow"), cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while server.max_in_flight() < PER_HOST:
        assert victim.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    time.sleep(1.5)  # the server finishes the dead run's answers (to nobody)
    server.reset_counts()
    # Were the dead run's slots still booked, this run would wait for them forever (timeout).
    done = subprocess.run(_run(quick, tmp_path / "quick"), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert server.hits() == 6
    _assert_polite(server)
