"""The bulk availability path (:class:`linkwatch.http.prober.Prober`, asyncio) against the blocking
:meth:`Fetcher.probe`: same servers misbehaving on purpose, same verdicts; and its own duties —
bounded scheduling, politeness, cancellation, errors that are bugs."""
from __future__ import annotations

import gc
import socket
import threading
import time
from pathlib import Path

import pytest
from httpserver import (
    BodyToHead,
    Content,
    Delay,
    Hang,
    HugeHeader,
    Interim,
    LocalServer,
    Raw,
    RawBytes,
    Redirect,
    Sequence,
    Status,
    cf_challenge,
    challenge,
    tls_context,
    too_many,
)

from linkwatch.http.client import FetchConfig, FetchResult

from linkwatch.http.fetcher import Fetcher

from linkwatch.http.prober import Prober

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"
FAST = FetchConfig(timeout=0.5, retries=2, backoff=0.01, backoff_max=0.05, per_host=4, min_interval=0.0)


def _no_head(then):
    def handler(ex) -> None:
        (Status(405) if ex.method == "HEAD" else then)(ex)
    return handler


def _routes(server: LocalServer, prefix: str) -> dict[str, str]:
    """One fresh set of misbehaving routes under ``prefix`` (Sequence handlers keep state)."""
    pdf = Content.file(PDF, "application/pdf")
    p = prefix
    return {
        "ok": server.route(f"{p}/a.pdf", pdf),
        "gone": server.route(f"{p}/gone.pdf", Status(404)),
        "410": server.route(f"{p}/410.pdf", Status(410)),
        "forbidden": server.route(f"{p}/forbidden.pdf", Status(403)),
        "no-head": server.route(f"{p}/nohead.pdf", _no_head(pdf)),
        "flaky": server.route(f"{p}/flaky.pdf", Sequence(Status(503), Status(500), pdf)),
        "always-500": server.route(f"{p}/500.pdf", Status(500)),
        "429-then-ok": server.route(f"{p}/429.pdf", Sequence(too_many(0), pdf)),
        "429-too-long": server.route(f"{p}/429long.pdf", too_many(3600)),
        "chain": server.route(f"{p}/r1", Redirect(f"{p}/r2", 302)),
        "_r2": server.route(f"{p}/r2", Redirect(f"{p}/a.pdf", 301)),
        "loop": server.route(f"{p}/loop1", Redirect(f"{p}/loop2")),
        "_loop2": server.route(f"{p}/loop2", Redirect(f"{p}/loop1")),
        "to-ftp": server.route(f"{p}/ftp", Redirect("ftp://example.org/a.pdf")),
        "non-ascii-location": server.route(f"{p}/accent", Redirect(f"{p}/d%C3%A9j%C3%A0.pdf")),
        "_accent-target": server.route(f"{p}/d%C3%A9j%C3%A0.pdf", pdf),
        "waf": server.route(f"{p}/waf.pdf", challenge()),
        "cloudflare": server.route(f"{p}/cf.pdf", cf_challenge()),
        "hang": server.route(f"{p}/hang.pdf", Hang(10)),
        "huge-header": server.route(f"{p}/huge.pdf", HugeHeader()),
        "odd-reason": server.route(f"{p}/odd.pdf", Raw(200, "Fine Thanks", [("Content-Type", "application/pdf")])),
        # Issue 12, item 11 and 13: what once split the two clients' verdicts, or misjudged both.
        "early-hints": server.route(f"{p}/hints.pdf", Interim(pdf)),
        "body-to-head": server.route(f"{p}/headbody.pdf", BodyToHead(PDF.read_bytes())),
        "latin1-location": server.route(f"{p}/latin1", Raw(302, "Found", [("Location", f"{p}/caf\xe9.pdf")])),
        "_latin1-target": server.route(f"{p}/caf%C3%A9.pdf", pdf),
        "latin1-reason": server.route(f"{p}/nontrouve.pdf", Raw(404, "Non trouv\xe9", [("X-Note", "caf\xe9")])),
        "206-unasked": server.route(f"{p}/206.pdf", Content(PDF.read_bytes(), "application/pdf", status=206)),
        "304-unasked": server.route(f"{p}/304.pdf", Status(304)),
        "bad-status-line": server.route(f"{p}/badstatus.pdf", RawBytes(b"HTTP/1.1 abc Whatever\r\n\r\n")),
        "not-http": server.route(f"{p}/ssh", RawBytes(b"SSH-2.0-OpenSSH_9.6\r\n")),
        "bad-scheme": "mailto:someone@example.org",
        "refused": f"http://127.0.0.1:{_closed_port()}/x.pdf",
    }


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _facts(r: FetchResult, prefix: str) -> dict:
    """What both clients must agree on (URLs with the per-client prefix taken out)."""
    def plain(url: str | None) -> str | None:
        return url.replace(prefix, "/P") if url else url
    return {
        "status": r.http_status, "kind": r.error_kind, "final": plain(r.final_url),
        "hops": [(plain(h.url), h.status) for h in r.redirects], "attempts": r.attempts,
        "type": r.content_type, "reason": r.reason, "failed": r.error is not None, "error": plain(r.error),
        "headers": {k: v for k, v in r.response_headers.items() if k.lower() == "x-note"},
        "sent": {k: v for k, v in r.request_headers.items()},
    }


@pytest.fixture(params=[False, True], ids=["thread", "process"])
def process(request) -> bool:
    """Every test runs the event loop both ways: in a thread, and in a child process."""
    return request.param


def _probe(config: FetchConfig, urls: dict[str, str], concurrency: int = 8, *, process: bool) -> dict[str, FetchResult]:
    out: dict[str, FetchResult] = {}
    for batch in Prober(config, concurrency, process=process).probe_all(urls.items()):
        out.update(batch)
    return out


def test_prober_judges_every_misbehaving_server_as_the_fetcher_does(server: LocalServer, process: bool) -> None:
    sync_urls, bulk_urls = _routes(server, "/sync"), _routes(server, "/bulk")
    with Fetcher(FAST) as fetcher:
        expected = {k: _facts(fetcher.probe(u), "/sync") for k, u in sync_urls.items() if not k.startswith("_")}
    got = {k: _facts(r, "/bulk") for k, r in _probe(FAST, bulk_urls, process=process).items() if not k.startswith("_")}
    assert got == expected
    # And the verdicts are the ones a user expects (not merely equal).
    assert got["ok"]["status"] == 200 and got["gone"]["status"] == 404
    assert got["flaky"]["status"] == 200 and got["flaky"]["attempts"] == 3
    assert got["always-500"]["attempts"] == 3 and got["429-too-long"]["attempts"] == 1
    assert got["chain"]["hops"] == [(server.url("/P/r1"), 302), (server.url("/P/r2"), 301)]
    assert got["chain"]["final"] == server.url("/P/a.pdf")
    assert got["loop"]["kind"] == "redirect-loop" and got["to-ftp"]["kind"] == "scheme"
    assert got["waf"]["kind"] == got["cloudflare"]["kind"] == "challenge"
    assert got["hang"]["kind"] == "timeout" and got["huge-header"]["kind"] == "protocol"
    assert got["refused"]["kind"] == "connection" and got["bad-scheme"]["kind"] == "scheme"
    assert got["odd-reason"]["reason"] == "Fine Thanks" and got["non-ascii-location"]["status"] == 200
    # HEAD first; GET only where HEAD was refused; no PDF body byte sent to either client.
    assert [r.method for r in server.requests("/bulk/nohead.pdf")] == ["HEAD", "GET"]
    assert [r.method for r in server.requests("/bulk/gone.pdf")] == ["HEAD"]
    assert server.body_bytes("/bulk/a.pdf") == 0
    # Interim responses are skipped; a body sent to HEAD is not a failure; Latin-1 is Latin-1.
    assert got["early-hints"]["status"] == got["body-to-head"]["status"] == 200
    assert got["latin1-location"]["final"] == server.url("/P/caf%C3%A9.pdf")
    assert got["latin1-reason"]["reason"] == "Non trouvé" and got["latin1-reason"]["headers"] == {"X-Note": "café"}
    # Never asked for: a part, a "not modified"; and not HTTP at all: protocol errors, not retried.
    for case in ("206-unasked", "304-unasked", "bad-status-line", "not-http"):
        assert got[case]["kind"] == "protocol" and got[case]["attempts"] == 1, case
    assert got["not-http"]["error"] == "invalid HTTP response: bad status line 'SSH-2.0-OpenSSH_9.6'"


def test_prober_errors_are_worded_like_the_fetchers(server: LocalServer, process: bool) -> None:
    urls = {"hang": server.route("/hang", Hang(10)), "gone": server.route("/gone", Status(404)),
            "refused": f"http://127.0.0.1:{_closed_port()}/x", "429": server.route("/429", too_many(3600))}
    config = FetchConfig(timeout=0.5, retries=0, min_interval=0.0)
    with Fetcher(config) as fetcher:
        expected = {k: fetcher.probe(u).error for k, u in urls.items()}
    assert {k: r.error for k, r in _probe(config, urls, process=process).items()} == expected


def test_prober_records_provenance(server: LocalServer, process: bool) -> None:
    url = server.route("/a.pdf", Content.file(PDF, "application/pdf"))
    config = FetchConfig(min_interval=0.0, host_headers={f"127.0.0.1:{server.port}": {"Authorization": "Bearer s3cret"}})
    result = _probe(config, {"a": url}, process=process)["a"]
    assert result.remote_addr == "127.0.0.1" and result.started_at.endswith("Z")
    assert result.request_headers["Authorization"] == "<redacted>"
    assert server.requests("/a.pdf")[0].headers["authorization"] == "Bearer s3cret"
    assert result.etag and result.last_modified and result.response_headers["Content-Length"]


def test_prober_verifies_tls_against_the_configured_bundle(tmp_path: Path, process: bool) -> None:
    context, ca = tls_context(tmp_path / "tls")
    with LocalServer(tls=context) as tls:
        url = tls.route("/a.pdf", Content.file(PDF, "application/pdf"))
        trusted = _probe(FetchConfig(min_interval=0.0, ca_bundle=str(ca)), {"a": url}, process=process)["a"]
        untrusted = _probe(FetchConfig(min_interval=0.0, retries=0), {"a": url}, process=process)["a"]
    assert trusted.http_status == 200
    assert untrusted.http_status is None and untrusted.error_kind == "connection"
    assert untrusted.error.startswith("TLS error")


def test_prober_keeps_per_host_limits_and_intervals(server: LocalServer, process: bool) -> None:
    urls = {str(i): server.route(f"/slow/{i}", Delay(0.1, Status(200))) for i in range(8)}
    _probe(FetchConfig(per_host=2, min_interval=0.0), urls, concurrency=8, process=process)
    assert server.max_in_flight() == 2
    server.reset_counts()
    urls = {str(i): server.route(f"/spaced/{i}", Status(200)) for i in range(5)}
    _probe(FetchConfig(per_host=4, min_interval=0.2), urls, concurrency=8, process=process)
    starts = sorted(r.received_at for r in server.requests())
    # Booked 0.2 s apart; the server sees them at least 0.1 s apart even on a loaded machine.
    assert all(b - a >= 0.1 for a, b in zip(starts, starts[1:]))


def test_prober_reads_its_input_as_it_goes(server: LocalServer, process: bool) -> None:
    url = server.route("/slow", Delay(0.02, Status(200)))
    padding = "x" * 4000  # long URLs: the pipe to a child process fills after a dozen
    pulled = 0

    def items():
        nonlocal pulled
        for i in range(100):
            pulled += 1
            yield i, f"{url}?{i}&{padding}"

    batches = Prober(FetchConfig(per_host=4, min_interval=0.0), concurrency=4, process=process).probe_all(items())
    first = next(batches)
    # A thread takes a URL when a request slot frees; a child process as its pipe drains (64 KiB).
    bound = 64 if process else 4 + len(first) + 1
    assert len(first) <= 4 and pulled <= bound  # never the whole manifest at once
    assert sum(len(b) for b in batches) + len(first) == 100


def test_closing_the_prober_early_cancels_what_is_left(server: LocalServer, process: bool, caplog) -> None:
    fast = server.route("/fast", Status(200))
    hang = server.route("/hang", Hang(30))
    items = [("fast", fast)] + [(str(i), f"{hang}?{i}") for i in range(20)]
    t0 = time.monotonic()
    batches = Prober(FetchConfig(timeout=30, min_interval=0.0), concurrency=8, process=process).probe_all(items)
    assert [key for key, _ in next(batches)] == ["fast"]  # the rest hang
    batches.close()
    assert time.monotonic() - t0 < 5
    assert not [t for t in threading.enumerate() if t.name == "linkwatch-probe"]
    gc.collect()  # a request left pending would now be destroyed, and asyncio would say so
    assert "destroyed but it is pending" not in caplog.text


def test_a_bug_is_raised_not_reported_as_a_network_failure(server: LocalServer, process: bool) -> None:
    url = server.route("/a", Status(200))

    def items():
        yield "a", url
        raise RuntimeError("bug in the caller's iterator")

    with pytest.raises(RuntimeError, match="bug in the caller"):
        for _ in Prober(FetchConfig(min_interval=0.0), process=process).probe_all(items()):
            pass


def test_the_probing_process_dies_with_a_killed_parent(server: LocalServer, tmp_path: Path) -> None:
    # SIGKILL runs no clean-up: the child must notice on its own, not finish requests nobody reads
    # (this one hangs; with --timeout 30 it would hold on for 30 s and more).
    import os
    import signal
    import subprocess
    import sys

    url = server.route("/hang", Hang(60))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "h"\nsymbol = "A/80/62"\nurl = "{url}"\n')
    root = Path(__file__).resolve().parent.parent
    parent = subprocess.Popen([sys.executable, "-m", "linkwatch", "check", str(manifest), "--availability-only",
                               "--archive", str(tmp_path / "archive"), "--timeout", "30", "--no-progress"],
                              cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not server.requests("/hang") and time.monotonic() < deadline:
        time.sleep(0.05)  # the request is in flight: the child is probing
    children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split()
    assert server.requests("/hang") and children
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(1.5)

    def running(pid: str) -> bool:
        try:
            return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
    assert not [pid for pid in children if running(pid)]
