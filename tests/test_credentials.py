"""Per-host credentials from the manifest: sent to their host only, recorded nowhere.

``[hosts."127.0.0.1"] headers = { Authorization = "env:UN_TOKEN" }`` is read from the environment;
the tests then look for the secret everywhere linkwatch writes: every file of the archive (index,
its WAL, WARC records decompressed), every report format, stdout and stderr. Redirects to another
host (``localhost`` is another host name for the same local server) and an https→http downgrade
on the same host must not carry it.
"""
from __future__ import annotations

import gzip
import secrets
import sqlite3
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Redirect, tls_context

import linkwatch
from linkwatch.cli import main
from linkwatch.report.formats import FORMATS

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "TD_B_43_6.en.pdf"
FAST = ["--min-interval", "0", "--timeout", "5", "--retries", "0", "--no-progress", "--fail-on", "never"]


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "tok-" + secrets.token_hex(16)
    monkeypatch.setenv("UN_TOKEN", value)
    return value


def _manifest(tmp_path: Path, server: LocalServer, extra_docs: str = "", host: str = "127.0.0.1") -> Path:
    server.route("/doc.pdf", Content.file(PDF, "application/pdf"))
    server.route("/elsewhere", Redirect(f"http://localhost:{server.port}/doc.pdf", 302))
    path = tmp_path / "m.toml"
    path.write_text(
        f'[hosts."{host}"]\nheaders = {{ Authorization = "env:UN_TOKEN", "X-Trace" = "plain-value" }}\n\n'
        f'[[document]]\nid = "direct"\nsymbol = "TD/B/43/6"\nurl = "{server.url("/doc.pdf")}"\n\n'
        f'[[document]]\nid = "redirected"\nsymbol = "TD/B/43/6"\nurl = "{server.url("/elsewhere")}"\n\n'
        f'[[document]]\nid = "other-host"\nsymbol = "TD/B/43/6"\nurl = "http://localhost:{server.port}/doc.pdf"\n'
        + extra_docs)
    return path


def _everything_written(archive: Path) -> bytes:
    out = []
    for p in archive.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out.append(gzip.decompress(data) if p.name.endswith(".gz") else data)
    return b"\n".join(out)


def test_secret_is_sent_to_its_host_only_and_recorded_nowhere(server: LocalServer, tmp_path: Path, token: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    manifest = _manifest(tmp_path, server)
    assert main(["archive", str(manifest), "--archive", str(archive), "--format", "json", *FAST]) == 0
    cli_out = capsys.readouterr()

    sent = [(r.headers.get("host", ""), r.path, r.headers.get("authorization")) for r in server.requests()]
    port = server.port
    assert (f"127.0.0.1:{port}", "/doc.pdf", token) in sent  # the configured host gets it
    assert (f"127.0.0.1:{port}", "/elsewhere", token) in sent
    assert all(auth is None for host, _, auth in sent if host.startswith("localhost"))  # others never do
    assert sum(host.startswith("localhost") for host, _, _ in sent) == 2  # after the redirect, and direct

    secret = token.encode()
    written = _everything_written(archive)
    assert b"<redacted>" in written and b"Authorization" in written
    assert secret not in written  # index, WAL, WARC request records
    assert token not in cli_out.out + cli_out.err
    report = linkwatch.status(archive=archive)
    for fmt in FORMATS:
        assert token not in linkwatch.render(report, fmt)

    db = sqlite3.connect(archive / "index.sqlite")
    try:
        import json

        recorded = [json.loads(r[0]) for r in db.execute("SELECT request_headers FROM observations")]
    finally:
        db.close()
    direct = [h for h in recorded if "Authorization" in h]
    assert direct and all(h["Authorization"] == "<redacted>" for h in direct)
    assert all(h.get("X-Trace") == "plain-value" for h in direct)  # not a secret: recorded as sent


def test_secret_is_not_sent_over_an_https_to_http_downgrade(tmp_path: Path, token: str) -> None:
    context, ca = tls_context(tmp_path / "tls")
    with LocalServer(tls=context) as tls, LocalServer() as plain:
        tls.route("/doc.pdf", Redirect(plain.url("/doc.pdf"), 302))  # same host name, plain http
        plain.route("/doc.pdf", Content.file(PDF, "application/pdf"))
        manifest = tmp_path / "m.toml"
        manifest.write_text('[hosts."127.0.0.1"]\nheaders = { Authorization = "env:UN_TOKEN" }\n\n'
                            f'[[document]]\nsymbol = "TD/B/43/6"\nurl = "{tls.url("/doc.pdf")}"\n')
        report = linkwatch.check(manifest, archive=tmp_path / "archive", min_interval=0, retries=0, timeout=5,
                                 ca_bundle=str(ca), progress=False)
        assert [r.headers.get("authorization") for r in tls.requests()] == [token]
        assert [r.headers.get("authorization") for r in plain.requests()] == [None]
    assert [f.kind for f in report.documents[0].findings] == ["insecure-redirect"]


def test_missing_environment_variable_is_a_manifest_error_naming_it(server: LocalServer, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("UN_TOKEN", raising=False)
    manifest = _manifest(tmp_path, server)
    assert main(["check", str(manifest), "--archive", str(tmp_path / "archive"), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"{manifest}:2: hosts.127.0.0.1.headers.Authorization: environment variable 'UN_TOKEN' is not set" in err
    assert server.hits() == 0 and not (tmp_path / "archive").exists()


@pytest.mark.parametrize("text, field, words", [
    ('[hosts."a.org"]\nheaders = { "Bad Name" = "x" }\n', 'hosts.a.org.headers."Bad Name"', "header name"),
    ('[hosts."a.org"]\nheaders = { X = 1 }\n', "hosts.a.org.headers.X", "must be a string"),
    ('[hosts."a.org"]\nheaderz = {}\n', "hosts.a.org.headerz", "did you mean 'headers'"),
    ('hosts = "a.org"\n', "hosts", "must be a table"),
])
def test_bad_hosts_tables_are_located(tmp_path: Path, text: str, field: str, words: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + '\n[[document]]\nurl = "https://a.org/x.pdf"\n')
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and f": {field}: " in err and words in err and "Traceback" not in err


def test_a_secret_with_a_line_break_is_refused_without_being_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("UN_TOKEN", "abc\r\nX-Injected: 1")
    path = tmp_path / "m.toml"
    path.write_text('[hosts."a.org"]\nheaders = { Authorization = "env:UN_TOKEN" }\n\n'
                    '[[document]]\nurl = "https://a.org/x.pdf"\n')
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "line break" in err and "abc" not in err and "X-Injected" not in err
