"""BagIt export: real UN PDFs archived from a local server, exported, validated with the bagit library."""
from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import bagit
import pytest
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.store.bag import ExportRefused, payload_name
from linkwatch.cli import main
from linkwatch.report.formats import render
from linkwatch.manifest import Document
from linkwatch.run import RunFailed

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)
RES = "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"  # sha256 of A_RES_78_323.en.pdf
pytestmark = pytest.mark.usefixtures("backend")  # on the SQLite index and on PostgreSQL


@pytest.fixture
def archived(server: LocalServer, tmp_path: Path) -> tuple[Path, Path]:
    """An archive holding a joint-symbol document, a resolution, and a document with no symbol."""
    joint = server.route("/a79716.pdf", Content.file(PDFS / "A_79_716.en.pdf", "application/pdf"))
    res = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    plain = server.route("/x.pdf", Content.file(PDFS / "TD_B_43_6.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[manifest]\ntitle = "CSTD test references"\nsource = "https://unctad.org/cstd"\n\n[defaults]\nlang = "en"\n\n'
        f'[[document]]\nid = "joint"\nsymbol = "A/79/716–S/2025/18"\nurl = "{joint}"\n\n'
        f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{res}"\n'
        'title = "International Day of Women and Girls of African Descent"\n\n'
        f'[[document]]\nid = "no-symbol"\nurl = "{plain}"\n', encoding="utf-8")
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    return manifest, archive


def test_bag_is_valid_with_safe_names_tag_files_and_events(archived: tuple[Path, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, archive = archived
    monkeypatch.setenv("LINKWATCH_ORGANIZATION", "UNCTAD Library")
    dest = tmp_path / "out" / "bag"
    assert linkwatch.export_bagit(dest, manifest=manifest, archive=archive) == dest
    bag = bagit.Bag(str(dest))
    assert bag.validate() and bag.version_info == (1, 0)
    assert sorted(bag.payload_entries()) == ["data/A_79_716-S_2025_18.en.pdf", "data/A_RES_78_323.en.pdf",
                                            "data/no-symbol.en.pdf"]
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.entries["data/A_RES_78_323.en.pdf"]["sha256"] == RES
    assert (dest / "data" / "A_RES_78_323.en.pdf").read_bytes() == (PDFS / "A_RES_78_323.en.pdf").read_bytes()
    # bag-info: who, what, when, how much
    assert bag.info["Source-Organization"] == "UNCTAD Library"
    assert "CSTD test references" in bag.info["External-Description"]
    assert "https://unctad.org/cstd" in bag.info["External-Description"]
    assert len(bag.info["Bagging-Date"]) == 10
    size = sum(p.stat().st_size for p in (dest / "data").iterdir())
    assert bag.info["Payload-Oxum"] == f"{size}.3"
    # tag files, covered by the tag manifests
    assert {"linkwatch-report.json", "linkwatch-index.csv"} <= set(bag.tagfile_entries())
    report = json.loads((dest / "linkwatch-report.json").read_text())
    assert report["command"] == "status" and {d["id"] for d in report["documents"]} == {"joint", "res", "no-symbol"}
    rows = list(csv.DictReader((dest / "linkwatch-index.csv").open(encoding="utf-8", newline="")))
    res = next(r for r in rows if r["document_id"] == "res")
    assert res["file"] == "data/A_RES_78_323.en.pdf" and res["sha256"] == RES and res["symbols"] == "A/RES/78/323"
    assert res["title"] == "International Day of Women and Girls of African Descent"
    assert res["url"].endswith("/res.pdf") and res["retrieved_at"].endswith("Z")
    # nothing left next to the bag, and one export event per exported snapshot
    assert sorted(p.name for p in dest.parent.iterdir()) == ["bag"]
    events = [e for e in linkwatch.events(archive=archive) if e.kind == "export"]
    assert len(events) == 3 and {e.outcome for e in events} == {"success"}
    assert all(e.agent == f"linkwatch {linkwatch.__version__}" and str(dest) in e.detail for e in events)
    assert next(e for e in events if e.document_id == "res").sha256 == RES


def test_a_changed_payload_byte_fails_validation(archived: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = archived
    dest = tmp_path / "bag"
    linkwatch.export_bagit(dest, archive=archive)
    assert bagit.Bag(str(dest)).is_valid()
    target = dest / "data" / "A_RES_78_323.en.pdf"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(dest)).validate()


def test_all_versions_are_dated_and_hashed_and_only_ok_versions_are_cited(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nlang = "en"\nurl = "{url}"\n')
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    reissued = (PDFS / "A_RES_78_323.en.pdf").read_bytes() + b"\n% reissued\n"  # new bytes, same page 1
    server.route("/res.pdf", Content(reissued, "application/pdf"))
    linkwatch.archive(manifest, archive=archive, **FAST)
    server.route("/res.pdf", Content.file(PDFS / "S_RES_2768_2025.en.pdf", "application/pdf"))  # replaced
    assert linkwatch.archive(manifest, archive=archive, **FAST).documents[0].status == "wrong-document"
    latest = tmp_path / "latest"
    linkwatch.export_bagit(latest, archive=archive)
    # The latest version judged ok is the cited document, not the newest bytes (another document).
    assert [p.name for p in (latest / "data").iterdir()] == ["A_RES_78_323.en.pdf"]
    assert (latest / "data" / "A_RES_78_323.en.pdf").read_bytes() == reissued
    every = tmp_path / "every"
    linkwatch.export_bagit(every, archive=archive, all_versions=True)
    bag = bagit.Bag(str(every))
    assert bag.validate()
    names = sorted(Path(p).name for p in bag.payload_entries())
    assert len(names) == 2 and all(n.startswith("A_RES_78_323.en.20") and n.endswith(".pdf") for n in names)
    assert any(RES[:8] in n for n in names)
    # --evidence: the wrong document too, under its own name and status, never as the cited one
    with_evidence = tmp_path / "evidence"
    linkwatch.export_bagit(with_evidence, archive=archive, evidence=True)
    bag = bagit.Bag(str(with_evidence))
    assert bag.validate()
    [evidence] = [p for p in bag.payload_entries() if p.startswith("data/evidence/")]
    assert ".wrong-document.shows-S_RES_2768_2025." in evidence
    assert (with_evidence / evidence).read_bytes() == (PDFS / "S_RES_2768_2025.en.pdf").read_bytes()
    rows = {r["file"]: r for r in csv.DictReader((with_evidence / "linkwatch-index.csv").open(encoding="utf-8"))}
    assert rows[evidence]["role"] == "evidence" and rows[evidence]["status"] == "wrong-document"
    assert rows[evidence]["page1_symbols"] == "S/RES/2768 (2025)"
    assert rows["data/A_RES_78_323.en.pdf"]["role"] == "cited" and rows["data/A_RES_78_323.en.pdf"]["status"] == "ok"


def test_wrong_documents_are_never_exported_as_the_cited_document(server: LocalServer, tmp_path: Path) -> None:
    """The issue's bag: the ODS placeholder, A/80/62 served for A/79/62, a Spanish other document."""
    placeholder = server.route("/a781.pdf", Content.file(PDFS / "A_78_1.en.pdf", "application/pdf"))
    later = server.route("/a7962.pdf", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    spanish = server.route("/e20241.pdf", Content.file(PDFS / "E_2024_1.en.pdf", "application/pdf"))
    res = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "=HYPERLINK(\"http://x\")"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        f'[[document]]\nid = "a-78-1"\nsymbol = "A/78/1"\nlang = "en"\nurl = "{placeholder}"\n\n'
        f'[[document]]\nid = "a-79-62"\nsymbol = "A/79/62–E/2024/3"\nlang = "en"\nurl = "{later}"\n\n'
        f'[[document]]\nid = "e-2024-1"\nsymbol = "E/2024/1"\nlang = "en"\nurl = "{spanish}"\n\n'
        f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nlang = "en"\nurl = "{res}"\n'
        'title = "=1+2 @SUM(A1) -cmd"\n', encoding="utf-8")
    archive = tmp_path / "archive"
    report = linkwatch.archive(manifest, archive=archive, **FAST)
    assert {d.id: d.status for d in report.documents} == {
        "a-78-1": "wrong-document", "a-79-62": "wrong-document", "e-2024-1": "wrong-document", "res": "ok"}
    assert [d.id for d in report.documents if d.archived_path] == ["res"]  # no "archived copy" of the others
    page = render(report, "html", archive=archive, output=tmp_path / "status.html")
    markdown = render(report, "markdown")
    assert page.count(">archived copy</a>") == 1 and page.count("data-versionurl=") == 1
    assert markdown.count("data-versionurl=") == 2  # res: its table row and its Findings line
    assert all(RES in line for line in markdown.splitlines() if "data-versionurl=" in line)
    bag_path = tmp_path / "bag"
    linkwatch.export_bagit(bag_path, archive=archive)
    assert sorted(bagit.Bag(str(bag_path)).payload_entries()) == ["data/A_RES_78_323.en.pdf"]
    text = (bag_path / "linkwatch-index.csv").read_text(encoding="utf-8")
    [row] = list(csv.DictReader(text.splitlines()))
    assert row["title"] == "'=1+2 @SUM(A1) -cmd" and row["content_type"].startswith("'=hyperlink")
    assert row["status"] == "ok" and row["retrieved_at"].endswith("Z") and row["sha256"] == RES
    assert row["page1_symbols"] == "A/RES/78/323" and row["page1_lang"] == "en" and row["page1_title"]
    with_evidence = tmp_path / "evidence"
    linkwatch.export_bagit(with_evidence, archive=archive, evidence=True)
    files = sorted(bagit.Bag(str(with_evidence)).payload_entries())
    assert files[0] == "data/A_RES_78_323.en.pdf" and len(files) == 4
    assert all(f.startswith("data/evidence/") and ".wrong-document." in f for f in files[1:])
    assert any("A_79_62-E_2024_3.en.wrong-document.shows-A_80_62" in f for f in files)


def test_bag_modes_follow_the_umask(archived: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = archived
    old = os.umask(0o022)
    try:
        linkwatch.export_bagit(tmp_path / "bag", archive=archive)
    finally:
        os.umask(old)
    bag = tmp_path / "bag"
    assert stat.S_IMODE(bag.stat().st_mode) == 0o755 and stat.S_IMODE((bag / "data").stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in bag.rglob("*") if p.is_file()} == {0o644}


def test_existing_non_empty_destination_is_refused_with_exit_2(archived: tuple[Path, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _, archive = archived
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    assert main(["export", "bagit", str(dest), "--archive", str(archive)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dest.")]  # no temporary bag left
    # An empty folder is fine: the bag takes its place.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "bagit", str(empty), "--archive", str(archive), "--organization", "Org"]) == 0
    assert bagit.Bag(str(empty)).info["Source-Organization"] == "Org"


def test_nothing_archived_is_refused(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nurl = "{url}"\n')
    linkwatch.check(manifest, archive=tmp_path / "archive", **FAST)  # facts only, no bytes
    with pytest.raises(ExportRefused, match="nothing to export"):
        linkwatch.export_bagit(tmp_path / "bag", archive=tmp_path / "archive")
    assert not (tmp_path / "bag").exists()


def test_a_corrupt_blob_stops_the_export_and_leaves_no_bag(archived: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = archived
    blob = archive / "blobs" / "sha256" / RES[:2] / RES[2:4] / RES
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")
    dest = tmp_path / "bag"
    with pytest.raises(RunFailed, match="linkwatch verify"):
        linkwatch.export_bagit(dest, archive=archive)
    assert not dest.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".bag.")]
    failed = [e for e in linkwatch.events(archive=archive) if e.kind == "export"]
    assert [(e.outcome, e.sha256) for e in failed] == [("failure", RES)]


def test_payload_names_are_safe_and_portable() -> None:
    def name(symbols: tuple[str, ...], doc_id: str = "x", lang: str | None = "en", extra: str | None = None) -> str:
        return payload_name(Document(id=doc_id, url="https://x", symbols=symbols), lang, "pdf", extra)

    assert name(("A/79/62", "E/2024/3")) == "A_79_62-E_2024_3.en.pdf"
    assert name(("E/CN.16/2024/L.1*",), lang="fr") == "E_CN.16_2024_L.1.fr.pdf"
    assert name((), doc_id="..hidden") == "hidden.en.pdf"
    assert name((), doc_id="con") == "con_.en.pdf"  # a reserved device name on Windows
    assert name(("A/RÉS/1 (x)",), lang=None) == "A_RES_1_x.pdf"
    assert name(("A/1",), extra="2024-05-01_1a2b3c4d") == "A_1.en.2024-05-01_1a2b3c4d.pdf"
    long = name(tuple(f"A/{n}/{'L' * 30}" for n in range(10)))
    assert len(long) <= 120 and long.endswith(".en.pdf") and "~" in long
    for hostile in ("../../etc/passwd", "a\x00b/c\\d", "/abs", "C:\\x"):
        result = name((), doc_id=hostile)
        assert "/" not in result and "\\" not in result and not result.startswith(".") and result.isascii()


def test_export_warc_is_dispatched_to_the_warc_writer(archived: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = archived
    dest = tmp_path / "refs.warc.gz"
    assert main(["export", "warc", str(dest), "--archive", str(archive)]) == 0
    assert dest.read_bytes()[:2] == b"\x1f\x8b"  # gzip: a WARC file was written
    assert main(["export", "warc", str(tmp_path / "x.warc.gz"), "--all-versions", "--archive", str(archive)]) == 2


def test_a_version_verified_for_another_citation_is_not_presented_under_the_new_one(
        server: LocalServer, tmp_path: Path) -> None:
    """A manifest keeps the id and changes the symbol it cites: the kept A/RES/78/323 is not the new citation."""
    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n', encoding="utf-8")
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "S/RES/9999 (2030)"\nurl = "{url}"\n', encoding="utf-8")
    bag_path = tmp_path / "bag"
    try:
        linkwatch.export_bagit(bag_path, manifest=manifest, archive=archive, evidence=True)
    except ExportRefused:
        pass  # nothing to present as the cited document: refused is right too
    else:
        files = bagit.Bag(str(bag_path)).payload_entries()
        assert files and all(f.startswith("data/evidence/") for f in files), files
    assert linkwatch.export_warc(tmp_path / "x.warc.gz", manifest=manifest, archive=archive) == 0
    report = linkwatch.check(manifest, archive=archive, **FAST)  # the new citation judged: and no archived copy
    [doc] = report.documents
    assert doc.status == "wrong-document" and doc.archived_path is None
