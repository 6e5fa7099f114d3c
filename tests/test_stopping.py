"""A run stops when told, and by itself at its deadline, keeping what it observed (issue 12,
items 9 and 10); one document's bytes never hold it for days.

Real runs in child processes (``python -m linkwatch``) against a local server where some
documents answer at once and others never do.
"""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from httpserver import Content, Drip, Hang, LocalServer

from linkwatch.http.client import FetchConfig
from linkwatch.http.prober import Prober

ROOT = Path(__file__).resolve().parent.parent
PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"


def _manifest(tmp_path: Path, server: LocalServer, hanging: int = 4) -> Path:
    server.route("/ok.pdf", Content.file(PDF, "application/pdf"))
    server.route("/hang.pdf", Hang(120))
    docs = [("fast1", "/ok.pdf?1"), ("fast2", "/ok.pdf?2")] + [(f"slow{i}", f"/hang.pdf?{i}") for i in range(hanging)]
    path = tmp_path / "m.toml"
    path.write_text("".join(f'[[document]]\nid = "{i}"\nsymbol = "A/80/62"\nurl = "{server.url(u)}"\n\n' for i, u in docs))
    return path


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "linkwatch", *args, "--format", "json", "--min-interval", "0",
                             "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _recorded(archive: Path) -> set[str]:
    db = sqlite3.connect(archive / "index.sqlite")
    try:
        return {r[0] for r in db.execute("SELECT document_id FROM observations")}
    finally:
        db.close()


def test_ctrl_c_stops_within_seconds_records_what_was_observed_and_exits_130(server: LocalServer,
                                                                           tmp_path: Path) -> None:
    # At the defaults (--timeout 30, --retries 3) the hanging documents would hold the run for
    # minutes; Ctrl-C must not wait for them.
    archive = tmp_path / "archive"
    proc = _start(["check", str(_manifest(tmp_path, server)), "--archive", str(archive)])
    deadline = time.monotonic() + 60
    while len(server.requests("/hang.pdf")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the fast documents are done and recorded by now
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert took < 5, f"took {took:.1f} s to stop"
    report = json.loads(out)
    assert report["incomplete"].startswith("interrupted: 2 of 6 documents observed")
    assert {d["id"] for d in report["documents"]} == {"fast1", "fast2"}
    assert _recorded(archive) == {"fast1", "fast2"}  # recorded, not discarded
    assert "run incomplete" in err and "Traceback" not in err


def test_max_time_ends_the_run_gracefully_with_a_report(server: LocalServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    t0 = time.monotonic()
    proc = _start(["check", str(_manifest(tmp_path, server)), "--archive", str(archive), "--max-time", "3"])
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    report = json.loads(out)
    assert proc.returncode == 1, err  # an incomplete run is never green
    assert report["incomplete"].startswith("--max-time 3 s reached: 2 of 6 documents observed")
    assert _recorded(archive) == {"fast1", "fast2"}
    assert took < 15, f"took {took:.1f} s"


def test_a_body_trickling_above_min_rate_is_cut_at_the_document_deadline(server: LocalServer, tmp_path: Path) -> None:
    # 2 bytes every 0.1 s: above --min-rate 1 B/s, never a read timeout, and 512 MiB would take days.
    server.route("/trickle.pdf", Drip(b"%PDF-1.7\n" + b"x" * 100_000, chunk=2, interval=0.1))
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "t"\nsymbol = "A/1"\nurl = "{server.url("/trickle.pdf")}"\n')
    t0 = time.monotonic()
    proc = _start(["check", str(path), "--archive", str(tmp_path / "a"), "--min-rate", "1",
                   "--max-document-time", "2"])
    out, err = proc.communicate(timeout=60)
    doc = json.loads(out)["documents"][0]
    assert doc["status"] == "unreachable" and "deadline (2 s)" in doc["error"], doc
    assert time.monotonic() - t0 < 15


def test_the_bulk_client_keeps_the_document_deadline_too(server: LocalServer) -> None:
    url = server.route("/hang", Hang(30))
    t0 = time.monotonic()
    [[(_, result)]] = list(Prober(FetchConfig(timeout=20, retries=3, min_interval=0, max_time=1)).probe_all([("h", url)]))
    assert result.error_kind == "timeout" and "deadline (1 s)" in result.error
    assert time.monotonic() - t0 < 5
