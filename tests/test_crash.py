"""Crash safety and concurrency: SIGKILL at random moments, two runs at once, disk full, read-only.

Every test drives the real command line in child processes (``python -m linkwatch archive``)
against a local server, and then inspects the archive the way a later run or a librarian would:
``PRAGMA integrity_check``, every blob re-hashed against its name, no partial file left where a
later run could take it for a finished one, and a fresh run that completes and records everything.

The kill loop runs ``LINKWATCH_KILL_LOOPS`` times (default 20), with kill moments drawn from a seeded
generator (``LINKWATCH_KILL_SEED``, default 4) so a failure can be replayed exactly.
"""
from __future__ import annotations

import hashlib
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpserver import Content, Delay, LocalServer
from services import index_rows

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
DOCS = {  # id: (file, symbol)
    "td-b-43-6": ("TD_B_43_6.en.pdf", "TD/B/43/6"),
    "s-res-2768": ("S_RES_2768_2025.en.pdf", "S/RES/2768 (2025)"),
    "a-res-73-8": ("A_RES_73_8-EN.pdf", "A/RES/73/8"),
    "a-res-78-323": ("A_RES_78_323.en.pdf", "A/RES/78/323"),
    "a-79-716": ("A_79_716.en.pdf", "A/79/716"),
    "e-2025-15": ("E_2025_15_Add.1_Rev.1.en.pdf", "E/2025/15/Add.1/Rev.1"),
}
KILL_LOOPS = int(os.environ.get("LINKWATCH_KILL_LOOPS", "20"))
KILL_SEED = int(os.environ.get("LINKWATCH_KILL_SEED", "4"))
pytestmark = pytest.mark.usefixtures("backend")  # on the SQLite index and on PostgreSQL


@pytest.fixture
def site(server: LocalServer, tmp_path: Path) -> Path:
    """A manifest of real UN PDFs; a short delay per response spreads a run over ~1 s of activity."""
    lines = []
    for doc_id, (name, symbol) in DOCS.items():
        url = server.route(f"/{name}", Delay(0.1, Content.file(PDFS / name, "application/pdf")))
        lines.append(f'[[document]]\nid = "{doc_id}"\nsymbol = "{symbol}"\nurl = "{url}"\n')
    path = tmp_path / "m.toml"
    path.write_text("\n".join(lines))
    return path


def command(manifest: Path, archive: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "linkwatch", "archive", str(manifest), "--archive", str(archive),
            "--min-interval", "0", "--timeout", "5", "--retries", "0", "--no-progress", "--fail-on", "never",
            "--concurrency", "2", "--format", "json", *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_cli(manifest: Path, archive: Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(manifest, archive), capture_output=True, text=True, env=env(), timeout=120, **kw)


# -- what a sound archive looks like ----------------------------------------------------------------


def assert_sound(archive: Path) -> dict[str, str]:
    """The archive's invariants; returns blob name → sha256 of its bytes."""
    if not os.environ.get("LINKWATCH_INDEX") and (archive / "index.sqlite").exists():
        db = sqlite3.connect(archive / "index.sqlite")
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            db.close()
    snapshots = [r[0] for r in index_rows(archive, "SELECT sha256 FROM snapshots")]
    blobs = {}
    root = archive / "blobs"
    for p in root.rglob("*") if root.exists() else []:
        if p.is_file():
            blobs[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
            assert blobs[p.name] == p.name, f"blob {p} does not hash to its name"
            assert p.relative_to(root).parts[:3] == ("sha256", p.name[:2], p.name[2:4]), p
    # A snapshot row is written after its blob is in place: the index never points at nothing.
    assert set(snapshots) <= set(blobs)
    # Partial downloads live only in tmp/run-*/ (never read back); WARCs being written end in .open
    # and are renamed when complete. Nothing else in the archive may be a temporary file.
    for p in archive.rglob("*"):
        if p.is_file() and (p.name.startswith(".part-") or p.name.endswith((".tmp", ".partial"))):
            assert p.relative_to(archive).parts[0] == "tmp", f"temporary file outside tmp/: {p}"
    return blobs


def observations_of_last_run(archive: Path) -> tuple[int, str | None, list[tuple[str, str, int]]]:
    run_id, finished = index_rows(archive, "SELECT id, finished_at FROM runs ORDER BY id DESC LIMIT 1")[0]
    rows = index_rows(archive, "SELECT document_id, status, archived FROM observations WHERE run_id = ?", (run_id,))
    return run_id, finished, rows  # type: ignore[return-value]


# -- SIGKILL at random moments ------------------------------------------------------------------------


def test_sigkill_at_random_moments_never_corrupts_the_archive(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    # How long a whole run takes here (in a scratch archive), so kills land anywhere in it: a
    # re-run's time, as most loops below are re-runs (conditional requests: faster than a first run).
    # (On its own SQLite index: a shared PostgreSQL index would hold snapshots of the scratch folder.)
    scratch = {k: v for k, v in env().items() if k != "LINKWATCH_INDEX"}
    assert subprocess.run(command(site, tmp_path / "scratch"), capture_output=True, env=scratch).returncode == 0
    t0 = time.monotonic()
    assert subprocess.run(command(site, tmp_path / "scratch"), capture_output=True, env=scratch).returncode == 0
    full = time.monotonic() - t0
    rng = random.Random(KILL_SEED)
    killed = 0
    started = time.monotonic()
    for _ in range(KILL_LOOPS):
        proc = subprocess.Popen(command(site, archive), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env())
        time.sleep(rng.uniform(0.0, full))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        assert_sound(archive)
    loop_time = time.monotonic() - started
    assert killed >= KILL_LOOPS * 0.7, f"only {killed} of {KILL_LOOPS} runs were killed mid-way"

    done = run_cli(site, archive)  # a fresh run after all that
    assert done.returncode == 0, done.stderr
    blobs = assert_sound(archive)
    run_id, finished, rows = observations_of_last_run(archive)
    assert finished is not None
    assert sorted(r[0] for r in rows) == sorted(DOCS) and all(r[1] == "ok" for r in rows)
    expected = {hashlib.sha256((PDFS / name).read_bytes()).hexdigest() for name, _ in DOCS.values()}
    assert expected <= set(blobs)  # every document's bytes are kept
    # The dead runs' download folders were swept by the fresh run; its own is gone too.
    assert not any((archive / "tmp").iterdir())
    assert subprocess.run([sys.executable, "-m", "linkwatch", "verify", "--archive", str(archive)],
                          capture_output=True, env=env(), timeout=60).returncode == 0
    print(f"{KILL_LOOPS} loops ({killed} killed mid-run, full run {full:.2f} s) in {loop_time:.1f} s")


def test_a_live_runs_download_folder_is_not_swept_by_another(site: Path, tmp_path: Path) -> None:
    from linkwatch.run import _run_tmp

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    mine, lock = _run_tmp(tmp, 1)
    (mine / ".part-x").write_bytes(b"partial")
    dead = tmp / "run-0-dead"  # a killed run's folder: its lock file is there, nobody holds it
    dead.mkdir()
    (dead / ".lock").write_bytes(b"")
    (dead / ".part-y").write_bytes(b"partial")
    other, other_lock = _run_tmp(tmp, 2)
    try:
        assert (mine / ".part-x").exists() and not dead.exists() and other.exists()
    finally:
        os.close(lock)
        os.close(other_lock)


# -- two runs at once -----------------------------------------------------------------------------------


def test_two_archive_runs_on_one_archive_at_once_both_finish(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"  # fresh: both runs race to create the index, too
    procs = [subprocess.Popen(command(site, archive), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env()) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    assert_sound(archive)
    runs = index_rows(archive, "SELECT id, finished_at FROM runs")
    per_run = index_rows(archive, "SELECT run_id, COUNT(*) FROM observations GROUP BY run_id")
    assert len(runs) == 2 and all(finished for _, finished in runs)
    assert sorted(n for _, n in per_run) == [len(DOCS), len(DOCS)]


# -- disk full, read-only -------------------------------------------------------------------------------


def _snapshot(archive: Path) -> dict[str, bytes]:
    return {str(p.relative_to(archive)): p.read_bytes() for p in sorted((archive / "blobs").rglob("*")) if p.is_file()}


def _rows(archive: Path) -> list[tuple]:
    return index_rows(archive, "SELECT id, document_id, sha256, status FROM observations ORDER BY id")


def _one_doc_site(server: LocalServer, tmp_path: Path, name: str, symbol: str, doc_id: str) -> Path:
    url = server.route(f"/{doc_id}.pdf", Content.file(PDFS / name, "application/pdf"))
    path = tmp_path / f"{doc_id}.toml"
    path.write_text(f'[[document]]\nid = "{doc_id}"\nsymbol = "{symbol}"\nurl = "{url}"\n')
    return path


def test_file_size_limit_while_archiving_exits_3_and_damages_nothing(server: LocalServer, tmp_path: Path) -> None:
    """Disk full, the portable way: RLIMIT_FSIZE (with SIGXFSZ ignored) makes every write past the
    limit fail with EFBIG, through the same code paths as ENOSPC."""
    archive = tmp_path / "archive"
    small = _one_doc_site(server, tmp_path, "TD_B_43_6.en.pdf", "TD/B/43/6", "small")
    assert run_cli(small, archive).returncode == 0
    blobs, rows = _snapshot(archive), _rows(archive)
    big = _one_doc_site(server, tmp_path, "A_RES_73_8-EN.pdf", "A/RES/73/8", "big")  # 323 kB

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    done = subprocess.run(command(big, archive), capture_output=True, text=True, env=env(), timeout=120,
                          preexec_fn=limit)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("linkwatch: error: archive ") and "File too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert _snapshot(archive) == blobs and _rows(archive) == rows  # nothing stored was touched
    assert_sound(archive)
    _no_open_warc_and_every_warc_readable(archive)  # the failed run's WARC is finished, not left .open
    assert run_cli(big, archive).returncode == 0  # and with room again, the run completes


def _no_open_warc_and_every_warc_readable(archive: Path) -> None:
    import gzip

    from warcio.archiveiterator import ArchiveIterator

    assert not list((archive / "warc").glob("*.open"))
    for warc in (archive / "warc").glob("*.warc.gz"):
        with gzip.open(warc) as raw:
            assert [r.rec_type for r in ArchiveIterator(raw)][0] == "warcinfo"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def test_disk_full_on_a_real_small_filesystem_exits_3_and_damages_nothing(server: LocalServer, tmp_path: Path) -> None:
    small_fs = tmp_path / "small"
    small_fs.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=600k", "tmpfs", str(small_fs)):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); the RLIMIT_FSIZE test covers the same path")
    try:
        archive = small_fs / "archive"
        small = _one_doc_site(server, tmp_path, "TD_B_43_6.en.pdf", "TD/B/43/6", "small")
        assert run_cli(small, archive).returncode == 0
        blobs, rows = _snapshot(archive), _rows(archive)
        big = tmp_path / "big.toml"
        big.write_text("".join(  # ~1.3 MB of new documents: more than the 600 kB filesystem holds
            f'[[document]]\nid = "d{i}"\nsymbol = "A/RES/73/8"\n'
            f'url = "{server.route(f"/d{i}.pdf", Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf"))}?{i}"\n\n'
            for i in range(4)))
        done = run_cli(big, archive)
        assert done.returncode == 3, done.stderr
        assert "No space left on device" in done.stderr or "disk is full" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert {k: v for k, v in _snapshot(archive).items() if k in blobs} == blobs
        assert _rows(archive)[: len(rows)] == rows
        assert_sound(archive)
    finally:
        subprocess.run(["umount", "-l", str(small_fs)], capture_output=True)


def test_read_only_archive_exits_3_with_a_clear_message_and_damages_nothing(server: LocalServer,
                                                                           tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    small = _one_doc_site(server, tmp_path, "TD_B_43_6.en.pdf", "TD/B/43/6", "small")
    assert run_cli(small, archive).returncode == 0
    before = {str(p): p.read_bytes() for p in sorted(archive.rglob("*")) if p.is_file()}
    # chmod does not stop root; a read-only bind mount does. Unprivileged, chmod is enough.
    if os.geteuid() == 0:
        if not (_mount("--bind", str(archive), str(archive))
                and _mount("-o", "remount,ro,bind", str(archive))):
            pytest.skip("running as root without CAP_SYS_ADMIN: neither chmod nor a read-only mount applies")
        undo = lambda: subprocess.run(["umount", "-l", str(archive)], capture_output=True)  # noqa: E731
    else:
        for p in [archive, *archive.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        undo = lambda: [p.chmod(0o755 if p.is_dir() else 0o644) for p in [archive, *archive.rglob("*")]]  # noqa: E731
    try:
        done = run_cli(small, archive)
        assert done.returncode == 3, done.stderr
        assert "Read-only file system" in done.stderr or "Permission denied" in done.stderr, done.stderr
        assert f"archive {archive}" in done.stderr and "Traceback" not in done.stderr
    finally:
        undo()
    after = {str(p): p.read_bytes() for p in sorted(archive.rglob("*")) if p.is_file()}
    assert after == before
    assert_sound(archive)
