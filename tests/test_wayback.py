"""A way back for dead links (--suggest): a local server speaking the real CDX JSON answers."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from httpserver import Content, Exchange, Hang, LocalServer, Status

import linkwatch
from linkwatch.cli import main
from linkwatch.compare import Finding
from linkwatch.report import Report
from linkwatch.wayback import CdxError, cdx_timestamp, iso_time, parse_cdx, query_url, replay_base

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "tests" / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
OTHER = ROOT / "tests" / "fixtures" / "pdfs" / "S_RES_2768_2025.en.pdf"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)
FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
CDX_PATH = "/cdx/search/cdx"


def cdx_digest(path: Path) -> str:
    """What the Wayback Machine's CDX puts in `digest`: base32 SHA-1 of the payload."""
    return base64.b32encode(hashlib.sha1(path.read_bytes()).digest()).decode()


class Cdx:
    """A CDX server: `output=json`, `filter=statuscode:200`, `closest` + `sort=closest`, `limit`."""

    def __init__(self, *captures: tuple[str, str, str, str]) -> None:  # (original, timestamp, status, digest)
        self.captures = list(captures)
        self.queries: list[dict[str, list[str]]] = []

    def __call__(self, ex: Exchange) -> None:
        q = parse_qs(urlsplit(ex.request.target).query)
        self.queries.append(q)
        rows = [c for c in self.captures if c[0] == q["url"][0]]
        for f in q.get("filter", []):
            name, value = f.split(":", 1)
            rows = [c for c in rows if dict(zip(("original", "timestamp", "statuscode", "digest"), c))[name] == value]
        if "closest" in q:
            target = int(q["closest"][0])
            rows.sort(key=lambda c: abs(int(c[1]) - target))
        rows = rows[: int(q.get("limit", ["1000"])[0])]
        table = [FIELDS] + [["org,example)/x", ts, orig, "application/pdf", status, digest, "12345"]
                            for orig, ts, status, digest in rows] if rows else []
        ex.send(200, json.dumps(table).encode(), content_type="text/plain")


def write_manifest(tmp_path: Path, url: str, defaults: str = "") -> Path:
    path = tmp_path / "m.toml"
    path.write_text(f'[defaults]\nlang = "en"\n{defaults}\n[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\n'
                    f'url = "{url}"\n', encoding="utf-8")
    return path


def suggestion(report: Report) -> Finding:
    found = [f for f in report.documents[0].findings if f.kind == "suggestion"]
    assert len(found) == 1, report.documents[0].findings
    return found[0]


@pytest.fixture
def archived_then_gone(server: LocalServer, tmp_path: Path) -> tuple[Path, str, str]:
    """A document archived while ok, then 404: (manifest, its URL, when it was last seen ok)."""
    url = server.route("/res.pdf", Content.file(PDF, "application/pdf"))
    path = write_manifest(tmp_path, url)
    first = linkwatch.archive(path, archive=tmp_path / "archive", **FAST)
    assert first.documents[0].status == "ok"
    server.route("/res.pdf", Status(404))
    return path, url, first.documents[0].checked_at or ""


def test_broken_document_gets_the_capture_with_the_archived_bytes(
        server: LocalServer, tmp_path: Path, archived_then_gone: tuple[Path, str, str]) -> None:
    path, url, last_ok = archived_then_gone
    near = int(cdx_timestamp(last_ok))
    cdx = Cdx((url, str(near + 10), "200", cdx_digest(OTHER)),   # closest, but other bytes
              (url, str(near - 1000000), "200", cdx_digest(PDF)),  # further away, the archived bytes
              (url, str(near), "404", cdx_digest(PDF)))            # a capture of an error page
    server.route(CDX_PATH, cdx)
    report = linkwatch.archive(path, archive=tmp_path / "archive", suggest=True, cdx_url=server.url(CDX_PATH), **FAST)
    doc = report.documents[0]
    assert doc.status == "broken" and doc.severity == "error"
    ts = str(near - 1000000)
    assert doc.memento_url == f"{server.base_url}/web/{ts}/{url}"
    assert doc.memento_at == iso_time(ts) and doc.memento_matches is True
    note = suggestion(report)
    assert note.severity == "info" and doc.memento_url in note.message and "same bytes" in note.message
    # The real CDX query: JSON, 200s only, closest to the last good observation, a small limit.
    (q,) = cdx.queries
    assert q["url"] == [url] and q["output"] == ["json"] and q["filter"] == ["statuscode:200"]
    assert q["closest"] == [cdx_timestamp(last_ok)] and q["sort"] == ["closest"] and int(q["limit"][0]) <= 10
    # The finding is recorded: `status` shows it without asking the web archive again.
    later = linkwatch.status(archive=tmp_path / "archive")
    assert [f.kind for f in later.documents[0].findings] == [f.kind for f in doc.findings]
    assert len(cdx.queries) == 1


def test_closest_capture_with_other_bytes_does_not_match(
        server: LocalServer, tmp_path: Path, archived_then_gone: tuple[Path, str, str]) -> None:
    path, url, last_ok = archived_then_gone
    ts = cdx_timestamp(last_ok)
    server.route(CDX_PATH, Cdx((url, ts, "200", cdx_digest(OTHER))))
    report = linkwatch.check(path, archive=tmp_path / "archive", suggest=True, cdx_url=server.url(CDX_PATH), **FAST)
    doc = report.documents[0]
    assert (doc.memento_url, doc.memento_matches) == (f"{server.base_url}/web/{ts}/{url}", False)
    assert "not the same bytes" in suggestion(report).message


def test_nothing_archived_means_nothing_to_compare(server: LocalServer, tmp_path: Path) -> None:
    url = server.url("/never.pdf")
    server.route(CDX_PATH, Cdx((url, "20240102030405", "200", cdx_digest(PDF))))
    report = linkwatch.check(write_manifest(tmp_path, url), archive=tmp_path / "archive", suggest=True,
                             cdx_url=server.url(CDX_PATH), **FAST)
    doc = report.documents[0]
    assert doc.memento_at == "2024-01-02T03:04:05Z" and doc.memento_matches is None
    assert "no archived version to compare" in suggestion(report).message


def test_no_capture_is_an_info_note(server: LocalServer, tmp_path: Path) -> None:
    url = server.url("/never.pdf")
    server.route(CDX_PATH, Cdx())  # answers []
    report = linkwatch.check(write_manifest(tmp_path, url), archive=tmp_path / "archive", suggest=True,
                             cdx_url=server.url(CDX_PATH), **FAST)
    doc = report.documents[0]
    assert doc.memento_url is None and doc.memento_matches is None
    note = suggestion(report)
    assert note.severity == "info" and note.message.startswith("no capture")


@pytest.mark.parametrize("answer", [Status(500), Status(200, b"<html>maintenance</html>", "text/html"),
                                    Status(200, b'{"error": "x"}'), Hang(30)],
                         ids=["http-500", "html-garbage", "json-not-cdx", "timeout"])
def test_archive_service_failure_never_fails_the_run(server: LocalServer, tmp_path: Path, answer: object) -> None:
    url = server.url("/never.pdf")
    server.route(CDX_PATH, answer)  # type: ignore[arg-type]
    path = write_manifest(tmp_path, url)
    plain = linkwatch.check(path, archive=tmp_path / "a1", **FAST)
    report = linkwatch.check(path, archive=tmp_path / "a2", suggest=True, cdx_url=server.url(CDX_PATH),
                             **{**FAST, "timeout": 1.0, "retries": 0})
    doc = report.documents[0]
    assert doc.status == "broken" and doc.memento_url is None
    note = suggestion(report)
    assert note.severity == "info" and note.message.startswith("could not ask the web archive")
    assert report.exit_code("warning") == plain.exit_code("warning") == 1
    assert report.worst_severity() == plain.worst_severity() == "error"


def test_ok_documents_are_not_looked_up_nor_any_without_suggest(server: LocalServer, tmp_path: Path) -> None:
    cdx = Cdx()
    server.route(CDX_PATH, cdx)
    url = server.route("/res.pdf", Content.file(PDF, "application/pdf"))
    report = linkwatch.check(write_manifest(tmp_path, url), archive=tmp_path / "a", suggest=True,
                             cdx_url=server.url(CDX_PATH), **FAST)
    assert report.documents[0].status == "ok" and not report.documents[0].findings
    gone = linkwatch.check(write_manifest(tmp_path, server.url("/gone.pdf")), archive=tmp_path / "a",
                           cdx_url=server.url(CDX_PATH), **FAST)
    assert gone.documents[0].status == "broken" and not any(f.kind == "suggestion" for f in gone.documents[0].findings)
    assert server.hits(CDX_PATH) == 0 and cdx.queries == []


def test_manifest_defaults_suggest_turns_it_on(server: LocalServer, tmp_path: Path) -> None:
    url = server.url("/gone.pdf")
    server.route(CDX_PATH, Cdx((url, "20230101000000", "200", cdx_digest(PDF))))
    report = linkwatch.check(write_manifest(tmp_path, url, "suggest = true"), archive=tmp_path / "a",
                             cdx_url=server.url(CDX_PATH), **FAST)
    assert report.documents[0].memento_url == f"{server.base_url}/web/20230101000000/{url}"


def test_cli_suggest_json_validates(server: LocalServer, tmp_path: Path) -> None:
    url = server.url("/gone.pdf")
    server.route(CDX_PATH, Cdx((url, "20230101000000", "200", cdx_digest(PDF))))
    out = tmp_path / "r.json"
    code = main(["check", str(write_manifest(tmp_path, url)), "--archive", str(tmp_path / "a"), "--suggest",
                 "--cdx-url", server.url(CDX_PATH), "--replay-url", "https://replay.example/coll/",
                 "--min-interval", "0", "--timeout", "5", "--no-progress", "--format", "json", "--output", str(out)])
    assert code == 1
    data = json.loads(out.read_text())
    jsonschema.validate(data, json.loads((ROOT / "docs" / "report-schema.json").read_text()))
    doc = data["documents"][0]
    assert doc["memento_url"] == f"https://replay.example/coll/20230101000000/{url}"
    assert doc["memento_at"] == "2023-01-01T00:00:00Z" and doc["memento_matches"] is None
    assert data["archive"] == str(tmp_path / "a")


def test_cli_rejects_a_cdx_url_that_is_not_http(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["check", "m.toml", "--suggest", "--cdx-url", "file:///etc/passwd"])
    assert done.value.code == 2 and "not an http(s) URL" in capsys.readouterr().err


# -- the pieces ------------------------------------------------------------------------------------
def test_replay_base_is_derived_from_the_cdx_url() -> None:
    assert replay_base("https://web.archive.org/cdx/search/cdx") == "https://web.archive.org/web/"
    assert replay_base("http://127.0.0.1:8080/my-coll/cdx") == "http://127.0.0.1:8080/my-coll/"
    assert replay_base("https://archive.example/api/captures") == "https://archive.example/web/"


def test_query_url_asks_what_the_cdx_api_documents() -> None:
    q = parse_qs(urlsplit(query_url("https://web.archive.org/cdx/search/cdx", "https://a.org/x y.pdf?a=1&b=2",
                                    "2024-05-01T12:30:00Z")).query)
    assert q["url"] == ["https://a.org/x y.pdf?a=1&b=2"] and q["closest"] == ["20240501123000"]
    assert q["fl"] == [",".join(FIELDS)] and q["filter"] == ["statuscode:200"] and q["output"] == ["json"]


def test_parse_cdx_reads_the_real_format_and_refuses_garbage() -> None:
    answer = json.dumps([FIELDS, ["org,un)/a.pdf", "20240501123000", "https://un.org/a.pdf", "application/pdf",
                                  "200", "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", "5120"]]).encode()
    (row,) = parse_cdx(answer)
    assert row["timestamp"] == "20240501123000" and row["digest"] == "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
    assert parse_cdx(b"[]") == [] and parse_cdx(b"") == []
    for garbage in (b"<html>", b"{}", b'[["a","b"],["1","2"]]', b"[1, 2]", b"[" * 200_000):
        with pytest.raises(CdxError):
            parse_cdx(garbage)
    assert iso_time("2024") == "2024-01-01T00:00:00Z" and cdx_timestamp("2024-05-01T12:30:00Z") == "20240501123000"
