"""--output and export DEST never destroy an input or the archive, and are checked before the run
(issue 12, item 8)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.cli import main
from linkwatch.outputs import UnsafeOutput

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"
FAST = ["--min-interval", "0", "--retries", "0", "--no-progress"]


@pytest.fixture
def site(server: LocalServer, tmp_path: Path) -> tuple[Path, Path]:
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "a"\nsymbol = "A/80/62"\n'
                        f'url = "{server.route("/a.pdf", Content.file(PDF, "application/pdf"))}"\n')
    archive = tmp_path / "archive"
    assert main(["archive", str(manifest), "--archive", str(archive), "--format", "json",
                 "--output", str(tmp_path / "r.json"), *FAST]) == 0
    return manifest, archive


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["manifest", "index", "a blob folder", "missing folder"])
def test_output_that_would_destroy_an_input_or_cannot_be_written_is_refused_before_the_run(
        site, server: LocalServer, tmp_path: Path, where: str, capsys) -> None:
    manifest, archive = site
    output = {"manifest": manifest, "index": archive / "index.sqlite", "a blob folder": archive / "blobs" / "r.json",
              "missing folder": tmp_path / "no" / "such" / "r.json"}[where]
    before, text, hits = _bytes(archive), manifest.read_text(), server.hits()
    assert main(["check", str(manifest), "--archive", str(archive), "--output", str(output), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.startswith("linkwatch: error: --output ") and "Traceback" not in err
    assert manifest.read_text() == text and _bytes(archive) == before  # nothing touched
    assert server.hits() == hits  # refused before any request


def test_merge_never_overwrites_a_report_it_reads(site, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    text = report.read_text()
    assert main(["merge", str(report), "--output", str(report)]) == 2
    assert report.read_text() == text


@pytest.mark.parametrize("export", ["warc", "wacz"])
def test_an_export_is_never_written_inside_the_archive(site, export: str, capsys) -> None:
    _, archive = site
    before = _bytes(archive)
    dest = archive / "warc" / f"all.{'warc.gz' if export == 'warc' else 'wacz'}"
    assert main(["export", export, str(dest), "--archive", str(archive)]) == 2
    assert "inside the archive" in capsys.readouterr().err
    assert _bytes(archive) == before
    with pytest.raises(UnsafeOutput):
        linkwatch.api.export_warc(archive / "x.warc.gz", archive=archive)


def test_special_files_and_ordinary_paths_still_work(site, tmp_path: Path) -> None:
    manifest, archive = site
    assert main(["status", str(manifest), "--archive", str(archive), "--output", "/dev/null"]) == 0
    assert main(["status", str(manifest), "--archive", str(archive), "--output", str(tmp_path / "s.md"),
                 "--format", "markdown"]) == 0
    assert (tmp_path / "s.md").read_text().startswith("## ")
    assert not [p for p in tmp_path.iterdir() if ".probe-" in p.name]  # the write check leaves nothing
    shutil.rmtree(archive)
