"""Replay in a real pywb: what a librarian replays is the archived document, byte for byte.

pywb replays the latest capture of a URL. Metadata records used to carry the document's own URI,
so pywb replayed linkwatch's JSON in the PDF's place; a revisit written after a 304 kept the
server's 304 and replayed as an empty 304. Exports hold only versions judged ok, and a WACZ must
pass ``wacz validate`` and replay by its own index. See tests/replay.py for how the tools are found.
"""
from __future__ import annotations

import json
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Redirect
from replay import Pywb, tool, wacz_validate

import linkwatch
from linkwatch.cli import main
from linkwatch.store.wacz import surt

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
RES = PDFS / "A_RES_78_323.en.pdf"
PLACEHOLDER = PDFS / "A_78_1.en.pdf"  # the ODS "document does not exist" page
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


@pytest.fixture
def manifest(server: LocalServer, tmp_path: Path) -> Path:
    """res: a 301, then the PDF (with an ETag: a re-run gets a 304); a-78-1: the ODS placeholder."""
    server.route("/files/res.pdf", Content.file(RES, "application/pdf"))
    server.route("/res", Redirect("/files/res.pdf", 301))
    server.route("/a781.pdf", Content.file(PLACEHOLDER, "application/pdf"))
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/res")}"\n\n'
                    f'[[document]]\nid = "a-78-1"\nsymbol = "A/78/1"\nurl = "{server.url("/a781.pdf")}"\n')
    return path


def test_run_warcs_replay_the_pdf_in_pywb_also_after_a_304(manifest: Path, server: LocalServer,
                                                           tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    time.sleep(1.1)  # WARC dates have seconds: the second run's capture must be the latest
    second = linkwatch.archive(manifest, archive=archive, **FAST)
    assert second.documents[0].status == "ok"
    url = server.url("/files/res.pdf")
    with Pywb(tmp_path / "pywb") as pywb:
        pywb.add(*sorted((archive / "warc").glob("*.warc.gz")))
        status, headers, body = pywb.get(url)  # the latest capture: the revisit written after the 304
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert body == RES.read_bytes()
        stamp = headers["Content-Location"].split("/coll/", 1)[1][:14]  # the capture replayed
        assert stamp >= second.started_at.replace("-", "").replace(":", "").replace("T", "")[:14]
        status, _, body = pywb.get(url, when="1990")  # the first capture: the response itself
        assert status == 200 and body == RES.read_bytes()


def test_export_warc_and_wacz_replay_only_documents_judged_ok(manifest: Path, server: LocalServer,
                                                               tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    warc, wacz = tmp_path / "refs.warc.gz", tmp_path / "refs.wacz"
    assert main(["export", "warc", str(warc), "--archive", str(archive)]) == 0
    assert main(["export", "wacz", str(wacz), "--archive", str(archive)]) == 0
    res, placeholder = server.url("/files/res.pdf"), server.url("/a781.pdf")
    with Pywb(tmp_path / "pywb-warc") as pywb:
        pywb.add(warc)
        status, headers, body = pywb.get(res)
        assert status == 200 and headers["Content-Type"] == "application/pdf" and body == RES.read_bytes()
        assert pywb.get(placeholder)[0] == 404  # evidence of a wrong document is no replayed "copy"
    done = wacz_validate(wacz)
    assert done.returncode == 0 and "Validation succeeded" in done.stdout, done.stdout + done.stderr
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wacz) as z:
        z.extractall(unpacked)
        assert z.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
    pages = [json.loads(line) for line in (unpacked / "pages" / "pages.jsonl").read_text().splitlines()]
    assert pages[0]["format"] == "json-pages-1.0" and [p["url"] for p in pages[1:]] == [res]
    with Pywb(tmp_path / "pywb-wacz") as pywb:  # replayed by the WACZ's own CDXJ index, not pywb's
        pywb.add_indexed(unpacked / "archive" / "data.warc.gz", unpacked / "indexes" / "index.cdxj")
        status, _, body = pywb.get(res)
        assert status == 200 and body == RES.read_bytes()


def test_a_tampered_wacz_fails_validation(manifest: Path, tmp_path: Path) -> None:
    """The validator the suite relies on does check: one changed byte in the WARC fails it."""
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    wacz = tmp_path / "refs.wacz"
    linkwatch.export_wacz(wacz, archive=archive)
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(wacz) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "archive/data.warc.gz":
                data = data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]
            dst.writestr(info, data)
    assert wacz_validate(tampered).returncode != 0


def test_surt_keys_match_pywbs_canonicaliser() -> None:
    urls = ["http://127.0.0.1:8080/files/res.pdf", "https://www.Documents.UN.org/doc/UNDOC/GEN/N24/pdf/x.pdf?b=2&a=1",
            "https://undocs.org/en/A/79/62", "https://example.com", "https://example.com:443/a?z=1",
            "http://www2.unctad.org/meetings/en/SessionalDocuments/ecn162024d2_en.pdf"]
    python = tool("python", "LINKWATCH_REQUIRE_PYWB")
    done = subprocess.run([python, "-c", "import json, sys, surt; print(json.dumps([surt.surt(u) for u in sys.argv[1:]]))",
                           *urls], capture_output=True, text=True, timeout=60, check=True)
    assert [surt(u) for u in urls] == json.loads(done.stdout)
