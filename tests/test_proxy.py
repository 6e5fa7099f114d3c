"""Proxies and an offline machine, with real processes: Debian's tinyproxy on 127.0.0.1, and a
network namespace with no network at all.

Both HTTP clients are tested: the thread pool (a first ``check``: bodies fetched and inspected)
and the bulk client in its child process (``--availability-only``). What went through the proxy
is read from the proxy's own log and from the ``Via`` header it adds; HTTPS goes through a
``CONNECT`` tunnel, with the server's certificate verified against the test CA as without a proxy.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, tls_context
from proxyserver import VIA_NAME, TinyProxy, free_port

import linkwatch
from linkwatch.cli import main

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
FAST = dict(min_interval=0.0, backoff=0.01, timeout=10.0, retries=0, progress=False)
CLIENTS = [pytest.param(False, id="thread-pool"), pytest.param(True, id="bulk")]


@pytest.fixture
def proxy(tmp_path: Path):
    with TinyProxy(tmp_path / "proxy") as p:
        yield p


@pytest.fixture(autouse=True)
def _no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _manifest(path: Path, urls: dict[str, str]) -> Path:
    path.write_text("".join(f'[[document]]\nid = "{i}"\nurl = "{u}"\n\n' for i, u in urls.items()), encoding="utf-8")
    return path


def _check(path: Path, tmp_path: Path, bulk: bool, **kw: object):
    return linkwatch.check(path, archive=tmp_path / "a", availability_only=bulk, **{**FAST, **kw})


@pytest.mark.parametrize("bulk", CLIENTS)
def test_http_proxy_from_the_environment(server: LocalServer, proxy: TinyProxy, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    report = _check(_manifest(tmp_path / "m.toml", {"a": url}), tmp_path, bulk)
    assert [d.status for d in report.documents] == ["ok"]
    assert any(re.fullmatch(r"(GET|HEAD) http://127.0.0.1:\d+/a.pdf", r) for r in proxy.requests()), proxy.requests()
    assert all(VIA_NAME in r.headers.get("via", "") for r in server.requests("/a.pdf"))


@pytest.mark.parametrize("bulk", CLIENTS)
def test_https_goes_through_a_connect_tunnel_and_is_still_verified(proxy: TinyProxy, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   bulk: bool) -> None:
    context, ca = tls_context(tmp_path / "tls")
    with LocalServer(tls=context) as tls:
        url = tls.route("/a.pdf", Content.file(PDF, "application/pdf"))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        path = _manifest(tmp_path / "m.toml", {"a": url})
        trusted = _check(path, tmp_path, bulk, ca_bundle=str(ca))
        untrusted = _check(path, tmp_path, bulk)  # the tunnel changes nothing about trust
    assert trusted.documents[0].status == "ok"
    assert f"CONNECT 127.0.0.1:{tls.port}" in " ".join(proxy.requests())
    assert untrusted.documents[0].status == "unreachable" and "TLS error" in (untrusted.documents[0].error or "")


@pytest.mark.parametrize("bulk", CLIENTS)
def test_no_proxy_hosts_are_reached_directly(server: LocalServer, proxy: TinyProxy, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    report = _check(_manifest(tmp_path / "m.toml", {"a": url}), tmp_path, bulk)
    assert report.documents[0].status == "ok"
    assert proxy.requests() == [] and "via" not in server.requests("/a.pdf")[0].headers


@pytest.mark.parametrize("bulk", CLIENTS)
def test_proxy_option_without_the_variables(server: LocalServer, proxy: TinyProxy, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str], bulk: bool) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    path = _manifest(tmp_path / "m.toml", {"a": url})
    argv = ["check", str(path), "--archive", str(tmp_path / "a"), "--proxy", f"127.0.0.1:{proxy.port}",
            "--retries", "0", "--min-interval", "0", "--no-progress", *(["--availability-only"] if bulk else [])]
    assert main(argv) == 0
    assert VIA_NAME in server.requests("/a.pdf")[0].headers.get("via", "")


@pytest.mark.parametrize("bulk", CLIENTS)
def test_a_proxy_that_is_down_is_named_in_the_error(server: LocalServer, tmp_path: Path, bulk: bool) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    dead = f"http://127.0.0.1:{free_port()}"
    report = _check(_manifest(tmp_path / "m.toml", {"a": url}), tmp_path, bulk, proxy=dead)
    doc = report.documents[0]
    assert doc.status == "unreachable" and (doc.error or "").startswith(f"proxy {dead} failed"), doc.error
    assert server.hits() == 0 and report.looks_offline()


# -- no network at all ----------------------------------------------------------------------------------
def _offline(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run linkwatch in a new network namespace: no interface up, no DNS server reachable."""
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True) if unshare and os.geteuid() == 0 else None
    if probe is None or probe.returncode != 0:
        if os.environ.get("LINKWATCH_REQUIRE_PROXY") == "1":
            pytest.fail("cannot make a network namespace (unshare -n, as root), and LINKWATCH_REQUIRE_PROXY=1")
        pytest.skip("making a network namespace needs root and unshare(1)")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([unshare, "-n", sys.executable, "-m", "linkwatch", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("bulk", CLIENTS)
def test_offline_says_dns_lookup_failed_and_once_that_the_machine_looks_offline(tmp_path: Path, bulk: bool) -> None:
    path = _manifest(tmp_path / "m.toml", {"a": "https://unctad.org/a.pdf", "b": "https://documents.un.org/b.pdf",
                                           "c": "https://undocs.org/en/A/79/62"})
    argv = ["check", str(path), "--archive", str(tmp_path / "a"), "--retries", "0", "--min-interval", "0",
            "--no-progress", "--format", "json", *(["--availability-only"] if bulk else [])]
    done = _offline(argv, tmp_path)
    assert done.returncode == 1, done.stderr
    import json

    errors = {d["id"]: d["error"] for d in json.loads(done.stdout)["documents"]}
    assert errors["a"].startswith("DNS lookup failed for unctad.org"), errors
    assert errors["b"].startswith("DNS lookup failed for documents.un.org")
    assert done.stderr.count("this machine looks offline or behind a proxy") == 1


def test_one_failing_host_among_answering_ones_is_not_called_offline(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    report = _check(_manifest(tmp_path / "m.toml", {"a": url, "b": f"http://127.0.0.1:{free_port()}/x.pdf"}),
                    tmp_path, False)
    assert [d.status for d in report.documents] == ["ok", "unreachable"] and not report.looks_offline()
