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


def _manifest(tmp_path: Path, server: LocalServer, extra_docs: str = "", host: str | None = None) -> Path:
    host = host or f"127.0.0.1:{server.port}"  # credentials are bound to an origin: host and port
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
        # Both origins hold the credentials: only the downgrade keeps them from the plain one.
        manifest.write_text(f'[hosts."127.0.0.1:{tls.port}"]\nheaders = {{ Authorization = "env:UN_TOKEN" }}\n\n'
                            f'[hosts."127.0.0.1:{plain.port}"]\nheaders = {{ Authorization = "env:UN_TOKEN" }}\n\n'
                            f'[[document]]\nsymbol = "TD/B/43/6"\nurl = "{tls.url("/doc.pdf")}"\n')
        report = linkwatch.check(manifest, archive=tmp_path / "archive", min_interval=0, retries=0, timeout=5,
                                 ca_bundle=str(ca), progress=False)
        assert [r.headers.get("authorization") for r in tls.requests()] == [token]
        assert [r.headers.get("authorization") for r in plain.requests()] == [None]
    assert [f.kind for f in report.documents[0].findings] == ["insecure-redirect"]


@pytest.mark.parametrize("availability_only", [False, True], ids=["thread-pool", "bulk"])
def test_secret_is_bound_to_its_origin_not_to_the_host_name(tmp_path: Path, token: str, availability_only: bool) -> None:
    # Another port of the same host is another service (the leak curl fixed as CVE-2022-27776):
    # a redirect there, or a document there, never gets the credentials of the first port; and a
    # bare host name means its scheme's default port only.
    with LocalServer() as home, LocalServer() as other:
        home.route("/doc.pdf", Content.file(PDF, "application/pdf"))
        home.route("/away", Redirect(other.url("/doc.pdf"), 302))
        other.route("/doc.pdf", Content.file(PDF, "application/pdf"))
        manifest = tmp_path / "m.toml"
        manifest.write_text(
            f'[hosts."127.0.0.1:{home.port}"]\nheaders = {{ Authorization = "env:UN_TOKEN" }}\n\n'
            '[hosts."localhost"]\nheaders = { Authorization = "env:UN_TOKEN" }\n\n'
            f'[[document]]\nid = "home"\nurl = "{home.url("/doc.pdf")}"\n\n'
            f'[[document]]\nid = "away"\nurl = "{home.url("/away")}"\n\n'
            f'[[document]]\nid = "other"\nurl = "{other.url("/doc.pdf")}"\n\n'
            f'[[document]]\nid = "bare"\nurl = "http://localhost:{other.port}/doc.pdf"\n')
        linkwatch.check(manifest, archive=tmp_path / "archive", min_interval=0, retries=0, timeout=5,
                        progress=False, availability_only=availability_only)
        assert {r.headers.get("authorization") for r in home.requests()} == {token}
        assert other.requests() and {r.headers.get("authorization") for r in other.requests()} == {None}


def test_hosts_keys_may_name_a_port_and_nothing_else(tmp_path: Path, token: str, capsys) -> None:
    for key, ok in (("a.org:8443", True), ("[::1]:8080", True), ("a.org:99999", False), ("a.org/x", False),
                    ("user@a.org", False), ("https://a.org", False)):
        path = tmp_path / "m.toml"
        path.write_text(f'[hosts."{key}"]\nheaders = {{ Authorization = "env:UN_TOKEN" }}\n\n'
                        '[[document]]\nurl = "https://a.org/x.pdf"\n')
        assert (linkwatch.api.lint(path) == []) == ok, key


def test_missing_environment_variable_is_a_manifest_error_naming_it(server: LocalServer, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("UN_TOKEN", raising=False)
    manifest = _manifest(tmp_path, server, host="127.0.0.1")
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


@pytest.mark.parametrize("field", ["url", "mirrors"])
def test_user_info_in_a_manifest_url_is_refused_without_being_shown(tmp_path: Path, field: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.toml"
    url = '"https://user:s3cret@a.org/x.pdf"'
    path.write_text('[[document]]\nsymbol = "A/1"\n'
                    + (f"url = {url}\n" if field == "url" else f'url = "https://a.org/x.pdf"\nmirrors = [{url}]\n'))
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"document.{field}: a user name or password in the URL is not allowed" in err
    assert '[hosts."a.org"]' in err and "s3cret" not in err and "user:" not in err
    assert [p.field for p in linkwatch.api.lint(path)] == [f"document.{field}"]


@pytest.mark.parametrize("availability_only", [False, True], ids=["thread-pool", "bulk"])
def test_user_info_in_a_redirect_is_never_sent_nor_recorded(tmp_path: Path, availability_only: bool,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    with LocalServer() as server:
        server.route("/doc.pdf", Content.file(PDF, "application/pdf"))
        server.route("/r", Redirect(f"http://user:s3cret@127.0.0.1:{server.port}/doc.pdf", 302))
        manifest = tmp_path / "m.toml"
        manifest.write_text(f'[[document]]\nid = "r"\nsymbol = "TD/B/43/6"\nurl = "{server.url("/r")}"\n')
        archive = tmp_path / "archive"
        args = ["check", "--availability-only"] if availability_only else ["archive"]
        assert main([*args, str(manifest), "--archive", str(archive), "--format", "json", *FAST]) == 0
        out = capsys.readouterr()
        assert all("authorization" not in r.headers for r in server.requests())  # either client: not sent
    report = linkwatch.status(archive=archive)
    assert report.documents[0].status == "ok"
    assert report.documents[0].final_url == server.url("/doc.pdf")  # the same verdict on both paths
    assert b"s3cret" not in _everything_written(archive)
    assert "s3cret" not in out.out + out.err
    for fmt in FORMATS:
        assert "s3cret" not in linkwatch.render(report, fmt)
