"""Read commands open an archive read-only and never create one.

A preserved copy on a read-only mount must be readable (status, history, verify, exports); a
mistyped path must say there is no archive there (exit 2), not create an empty one and report
"all match". The read-only mount is a real one: a bind mount made read-only in a private mount
namespace (``unshare``), since permission bits do not stop root.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.cli import main

ROOT = Path(__file__).resolve().parent.parent
PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


@pytest.mark.parametrize("command", [["status"], ["verify"], ["history", "res"], ["diff", "res"],
                                     ["export", "bagit", "{tmp}/bag"], ["export", "warc", "{tmp}/x.warc.gz"]])
def test_a_path_with_no_archive_is_refused_and_not_created(tmp_path: Path, command: list[str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "mistyped"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    assert main([*argv, "--archive", str(missing)]) == 2
    assert f"no linkwatch archive at {missing}" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "bag").exists()


def test_an_empty_existing_folder_is_not_made_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--archive", str(tmp_path)]) == 2
    assert "no linkwatch archive" in capsys.readouterr().err and not list(tmp_path.iterdir())


def _unshare() -> list[str]:
    prefix = ["unshare", "--user", "--map-root-user", "--mount"] if os.geteuid() != 0 else ["unshare", "--mount"]
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to make a read-only mount")
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    return prefix


def test_a_read_only_archive_can_be_read_verified_and_exported(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n')
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    linkwatch.archive(manifest, archive=archive, **FAST)
    before = sorted((p.relative_to(archive), p.stat().st_mtime_ns) for p in archive.rglob("*"))
    out = tmp_path / "out"
    out.mkdir()
    py = f"{sys.executable} -m linkwatch"
    script = " && ".join([
        f"mount --bind -o ro {archive} {archive}",
        f"{py} status --archive {archive} --format json > {out}/status.json",
        f"{py} history res --archive {archive} > {out}/history.txt",
        f"{py} verify --archive {archive} > {out}/verify.txt",
        f"{py} export bagit {out}/bag --archive {archive}",
        f"{py} export warc {out}/x.warc.gz --archive {archive}",
        f"{py} export wacz {out}/x.wacz --archive {archive}",
    ])
    done = subprocess.run([*_unshare(), "sh", "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status": "ok"' in (out / "status.json").read_text()
    assert "all match" in (out / "verify.txt").read_text()
    assert bagit.Bag(str(out / "bag")).validate()
    assert (out / "x.warc.gz").stat().st_size > 0 and (out / "x.wacz").stat().st_size > 0
    # nothing in the archive changed: no WAL, no lock file, no event rows
    assert sorted((p.relative_to(archive), p.stat().st_mtime_ns) for p in archive.rglob("*")) == before


@pytest.mark.parametrize("content", ["empty", "schema-less"])
def test_an_empty_index_is_no_archive_and_stays_untouched(tmp_path: Path, content: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index.sqlite"
    if content == "empty":  # a failed copy or cache restore
        index.write_bytes(b"")
    else:
        import sqlite3

        sqlite3.connect(index).execute("CREATE TABLE unrelated (x)").connection.close()
    before = index.read_bytes()
    for command in (["status"], ["verify"], ["history", "res"]):
        assert main([*command, "--archive", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"no linkwatch archive at {tmp_path}" in err and "index.sqlite is" in err
    assert index.read_bytes() == before


def test_a_read_only_copy_with_a_write_ahead_log_shows_its_latest_state(server: LocalServer, tmp_path: Path) -> None:
    import sqlite3

    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n')
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    holder = sqlite3.connect(archive / "index.sqlite")  # a reader holds it open: the log is not merged
    holder.execute("SELECT count(*) FROM observations").fetchone()
    linkwatch.check(manifest, archive=archive, **FAST)
    copy = tmp_path / "copy"
    shutil.copytree(archive, copy)  # as a backup would: index.sqlite, -wal and -shm
    holder.close()
    assert (copy / "index.sqlite-wal").stat().st_size > 0
    out = tmp_path / "history.json"
    script = (f"mount --bind -o ro {copy} {copy} && "
              f"{sys.executable} -m linkwatch history res --archive {copy} --format json > {out}")
    done = subprocess.run([*_unshare(), "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert out.read_text().count('"observed_at"') == 2  # both runs, not only what was checkpointed
