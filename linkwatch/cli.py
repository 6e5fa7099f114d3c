"""The ``linkwatch`` command: a thin shell over :mod:`linkwatch.api`.

Exit codes (a contract scripts rely on): 0 nothing at or above ``--fail-on``; 1 findings at or
above it; 2 bad usage or a bad manifest; 3 the run itself failed.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING

from . import __version__
from .report.formats import FORMATS

if TYPE_CHECKING:
    from .store.index import Event
    from .manifest import Document
    from .report.model import DocumentResult, Report
    from .timeline import Entry
    from .versions import VersionDiff

# Each command imports what it needs when it runs (`linkwatch lint` never loads the HTTP stack,
# `check --format json` never loads rich); this module loads argparse and little else.

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
DEFAULT_CDX_URL = "https://web.archive.org/cdx/search/cdx"  # = linkwatch.wayback.DEFAULT_CDX_URL (tested)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        _apply_config(parser)
    except ValueError as exc:  # config.ConfigError
        _error(str(exc))
        return EXIT_USAGE
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        _check_output(args)
        return int(args.handler(args))
    except Exception as exc:  # noqa: BLE001 - the known ones below, anything else re-raised
        code = _known_error(exc)
        if code is None:
            raise
        return code
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an ``--output`` that would overwrite what the command reads (a manifest, a report
    being merged) or lie inside the archive, or that cannot be written: before any work. (An
    export's DEST is checked by :mod:`linkwatch.api`, for API callers too.)"""
    from .outputs import check_output

    reading = [*(getattr(args, "manifests", None) or []), *(getattr(args, "reports", None) or [])]
    for name in ("manifest", "source", "merge"):
        if getattr(args, name, None):
            reading.append(getattr(args, name))
    check_output(getattr(args, "output", None), reading=reading, archive=getattr(args, "archive", None))


def _raised(exc: BaseException, module: str, name: str) -> bool:
    """``isinstance(exc, linkwatch.<module>.<name>)`` without importing the module: an exception
    of a module that was never imported cannot have been raised."""
    loaded = sys.modules.get(f"{__package__}.{module}")
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def _known_error(exc: Exception) -> int | None:
    """The exit code for an error the command line explains in one line (None: not one of them)."""
    if _raised(exc, "manifest", "ManifestError"):
        _error(str(exc))
        print("linkwatch: " + ("check the path (manifests are TOML files, see docs/manifest.md)"
                               if exc.field == "file"  # type: ignore[attr-defined]
                               else "fix that line, then run again; 'linkwatch lint MANIFEST...' lists every "
                                    "problem without the network"), file=sys.stderr)
        return EXIT_USAGE
    if _raised(exc, "timeline", "UnknownDocument") or _raised(exc, "versions", "NoVersions") \
            or _raised(exc, "store.index", "NoArchive"):
        _error(str(exc.args[0]) if exc.args else str(exc))
        return EXIT_USAGE
    if _raised(exc, "outputs", "UnsafeOutput") or _raised(exc, "validation", "OptionError"):
        _error(str(exc))
        return EXIT_USAGE
    if _raised(exc, "run", "RunFailed"):
        _error(str(exc))
        return EXIT_FAILED
    if isinstance(exc, OSError):  # output file not writable, disk full while writing a report…
        _error(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_FAILED
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkwatch", description="Check that cited documents are still reachable and still the documents cited.")
    parser.add_argument("--version", action="version", version=f"linkwatch {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    archive_opt = argparse.ArgumentParser(add_help=False)
    archive_opt.add_argument("--archive", metavar="DIR", default=os.environ.get("LINKWATCH_ARCHIVE", "archive"),
                             help="archive folder (index + blobs); default ./archive or $LINKWATCH_ARCHIVE")
    archive_opt.add_argument("--index", metavar="URL", type=_index_url,
                             default=os.environ.get("LINKWATCH_INDEX") or None,
                             help="a shared index in PostgreSQL (postgresql://…; default $LINKWATCH_INDEX, else "
                                  "the SQLite index in --archive)")
    archive_opt.add_argument("--store", metavar="URL", type=_store_url,
                             default=os.environ.get("LINKWATCH_STORE") or None,
                             help="snapshots and WARCs in S3-compatible storage (s3://BUCKET/PREFIX; endpoint and "
                                  "credentials from the AWS environment or profile; default $LINKWATCH_STORE, else "
                                  "--archive)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=FORMATS, default="table", help="report format (default table)")
    output.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    output.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                        help="exit 1 when a finding is at or above this severity (default error)")
    output.add_argument("--quiet", action="store_true", help="table/markdown: list only documents with findings")
    fetching = argparse.ArgumentParser(add_help=False)
    fetching.add_argument("--concurrency", type=int, default=8, metavar="N", help="documents in flight (default 8)")
    fetching.add_argument("--per-host", type=int, default=2, metavar="N", help="requests in flight per host (default 2)")
    fetching.add_argument("--min-interval", type=float, default=0.2, metavar="S",
                          help="seconds between request starts to one host (default 0.2)")
    fetching.add_argument("--timeout", type=float, default=30.0, metavar="S", help="connect/read timeout (default 30)")
    fetching.add_argument("--retries", type=int, default=3, metavar="N", help="retries after the first try (default 3)")
    fetching.add_argument("--max-size", type=int, default=512 * 1024**2, metavar="BYTES",
                          help="largest body accepted (default 512 MiB)")
    fetching.add_argument("--min-rate", type=float, default=1024.0, metavar="BYTES/S",
                          help="slowest body accepted, averaged over --timeout seconds (default 1024; 0: off)")
    fetching.add_argument("--ca-bundle", metavar="FILE", help="PEM file of CAs to trust (a private CA) instead of the default")
    fetching.add_argument("--max-time", type=float, default=None, metavar="S",
                          help="stop the run after S seconds: what was observed is recorded and reported, "
                               "marked incomplete (exit 1)")
    fetching.add_argument("--max-document-time", type=float, default=600.0, metavar="S",
                          help="wall-clock limit for one document: every attempt and body byte (default 600)")
    fetching.add_argument("--allow-internal-redirects", action="store_true",
                          help="follow redirects from a public address into loopback, private or link-local ones "
                               "(refused by default)")
    fetching.add_argument("--proxy", type=_proxy_url, metavar="URL",
                          help="forward proxy for every request (default $HTTPS_PROXY / $HTTP_PROXY; $NO_PROXY "
                               "lists hosts reached directly); https goes through a CONNECT tunnel")
    fetching.add_argument("--user-agent", metavar="TEXT", type=_header_value,
                          help="User-Agent sent (default linkwatch/VERSION; per host: [hosts.\"…\"] headers in the manifest)")
    fetching.add_argument("--include", action="append", default=[], metavar="PATTERN",
                          help="only documents whose id or URL matches this glob (repeatable)")
    fetching.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                          help="leave out documents whose id or URL matches this glob (repeatable)")
    fetching.add_argument("--dry-run", action="store_true",
                          help="list what would be requested (method, URL, mirrors, proxy), fetch nothing, touch no archive")
    fetching.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when stderr is not a terminal)")
    fetching.add_argument("--suggest", action="store_true",
                          help="for broken, unreachable and wrong-document documents, look up a web archive capture")
    fetching.add_argument("--cdx-url", type=_http_url, default=DEFAULT_CDX_URL, metavar="URL",
                          help=f"the web archive's CDX API for --suggest (default {DEFAULT_CDX_URL})")
    fetching.add_argument("--replay-url", type=_http_url, metavar="URL",
                          help="where its captures are replayed (default derived from --cdx-url: …/web/)")

    for name, help_text in (("check", "fetch, verify, compare and record observations (no bytes kept)"),
                            ("archive", "the same, and keep every new version's bytes")):
        p = sub.add_parser(name, parents=[archive_opt, output, fetching], help=help_text, description=help_text)
        p.add_argument("manifests", nargs="*", metavar="MANIFEST",
                       help="manifest files (default: manifests = [...] in linkwatch.toml)")
        p.add_argument("--transient", type=int, default=2, metavar="N",
                       help="an unreachable (or HTTP 5xx) document that was ok is a warning until it fails N runs "
                            "in a row (default 2; 1: an error at once)")
        p.add_argument("--shard", type=_shard, metavar="K/N",
                       help="only the documents of shard K of N; a shard owns whole hosts, so per-host limits "
                            "hold across parallel shards (CI matrix jobs, Kubernetes Indexed Jobs)")
        p.add_argument("--campaign", metavar="NAME", default=os.environ.get("LINKWATCH_CAMPAIGN") or None,
                       help="the scheduled run this run is part of (its shards, retried tasks): each document is "
                            "observed once per campaign (default $LINKWATCH_CAMPAIGN)")
        p.add_argument("--shard-by", choices=("host", "document"), default="host",
                       help="host (default): whole hosts per shard; document: by a hash of the document id "
                            "(every shard may ask every host)")
        if name == "check":
            p.add_argument("--availability-only", action="store_true",
                           help="HTTP only, like a link checker: no body downloaded, nothing inspected; "
                                "ok means the final response was 2xx")
        p.set_defaults(handler=_run_command(name))

    p = sub.add_parser("completion", help="print a shell completion script (bash; zsh through bashcompinit)",
                       description="print a completion script: linkwatch completion >> ~/.bashrc")
    p.set_defaults(handler=_completion)

    p = sub.add_parser("status", parents=[archive_opt, output], help="latest known state from the index, no network")
    p.add_argument("manifests", nargs="*", metavar="MANIFEST")
    p.add_argument("--campaign", metavar="NAME", help="as one campaign observed the documents (all its shards)")
    p.set_defaults(handler=_status)

    p = sub.add_parser("merge", parents=[output], help="combine JSON reports (e.g. of CI shards) into one report",
                       description="combine reports written with --format json (e.g. by --shard jobs) into one "
                                   "report in any format; exits like check")
    p.add_argument("reports", nargs="+", metavar="REPORT.json")
    p.add_argument("--archive", metavar="DIR", help="html: link archived copies in this archive folder")
    p.set_defaults(handler=_merge)

    p = sub.add_parser("lint", help="validate manifests without any network (pre-commit, PR checks)",
                       description="validate manifests without any network: prints file:line: field: message "
                                   "per problem; exit 2 when there are problems, else 0")
    p.add_argument("manifests", nargs="+", metavar="MANIFEST")
    p.add_argument("--format", choices=("text", "github"), default="text",
                   help="text: file:line: field: message; github: workflow annotations")
    p.set_defaults(handler=_lint)

    p = sub.add_parser("history", parents=[archive_opt], help="every observation of one document")
    p.add_argument("document", metavar="DOCUMENT", help="document id or symbol")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=_history)

    p = sub.add_parser("verify", parents=[archive_opt], help="re-hash every stored snapshot against the index (fixity)")
    p.add_argument("--sample", type=_percent, metavar="N", help="check a random N%% of the snapshots (large archives)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=_verify)

    p = sub.add_parser("export", parents=[archive_opt], help="write archived versions as a BagIt bag, a WARC or a WACZ",
                       description="bagit: a BagIt 1.0 bag (payload, sha256 + sha512 manifests, JSON report and "
                                   "CSV index as tag files); warc: one WARC with each document's latest version "
                                   "judged ok; wacz: that WARC with its index and page list, for ReplayWeb.page")
    p.add_argument("export_format", choices=("bagit", "warc", "wacz"), metavar="bagit|warc|wacz")
    p.add_argument("dest", metavar="DEST", help="bagit: a new (or empty) folder; warc: a .warc.gz file; "
                                                "wacz: a .wacz file")
    p.add_argument("--manifest", metavar="M", help="only the documents of this manifest (default: every document)")
    p.add_argument("--all-versions", action="store_true",
                   help="bagit: every archived version judged ok, not only the latest")
    p.add_argument("--evidence", action="store_true",
                   help="bagit: also the kept versions not judged ok (wrong documents, placeholders), "
                        "under data/evidence/ with their status in the name")
    p.add_argument("--organization", metavar="NAME",
                   help="bagit: Source-Organization (default $LINKWATCH_ORGANIZATION or linkwatch)")
    p.set_defaults(handler=_export)

    p = sub.add_parser("diff", parents=[archive_opt], help="what changed between two archived versions")
    p.add_argument("document", metavar="DOCUMENT", help="document id or symbol")
    p.add_argument("--from", dest="old", metavar="SHA256", help="older version (sha256 prefix); default the one before --to")
    p.add_argument("--to", dest="new", metavar="SHA256", help="newer version (sha256 prefix); default the latest")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_diff)

    p = sub.add_parser("inspect", help="symbols, title, language and pages of local PDFs (no network)")
    p.add_argument("files", nargs="+", metavar="FILE.pdf")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--timeout", type=_positive_float, default=60.0, metavar="S", help="per-file limit (default 60)")
    p.set_defaults(handler=_inspect)

    p = sub.add_parser("resolve", help="the places a UN document symbol can be fetched from (no network)")
    p.add_argument("symbol", metavar="SYMBOL", help='a document symbol, e.g. "A/79/62" (quote it in the shell)')
    p.add_argument("--lang", default="en", choices=("ar", "zh", "en", "fr", "ru", "es"),
                   help="official language of the copy (default en)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=_resolve)

    p = sub.add_parser("discover", help="find the UN documents a text cites → manifest TOML")
    p.add_argument("source", metavar="SOURCE", help="a Markdown, text, HTML or PDF file, or an http(s) URL")
    p.add_argument("--lang", default="en", metavar="LANG", help="language of the documents to cite (default en)")
    p.add_argument("--merge", metavar="MANIFEST", help="append the documents MANIFEST does not list yet (comments and order kept)")
    p.add_argument("--output", metavar="FILE", help="write the TOML to FILE instead of stdout")
    p.add_argument("--timeout", type=_positive_float, default=60.0, metavar="S", help="fetch / PDF reading limit (default 60)")
    p.set_defaults(handler=_discover)
    return parser


# -- commands ----------------------------------------------------------------------------------
def _run_command(command: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        if not args.manifests:
            _error(f"name at least one manifest (or set manifests = [...] in linkwatch.toml); "
                   f"'linkwatch {command} --help' says more")
            return EXIT_USAGE
        if args.dry_run:
            return _dry_run(args)
        from .http.probe_process import warm_prober

        # The bulk HTTP path's process starts before the rest of linkwatch is even imported: its own
        # start-up (~0.25 s) then costs a re-run nothing. Unused (a first full check), it is stopped.
        with warm_prober(not args.suggest):
            report = _run(command, args)
        if report.looks_offline():
            _error("every document failed at the DNS lookup or the connection: this machine looks offline or "
                   "behind a proxy (set HTTPS_PROXY and HTTP_PROXY, or --proxy URL; see docs/ci.md)")
        code = _emit(report, args)
        if report.incomplete:
            print(f"linkwatch: run incomplete: {report.incomplete}; what was observed is recorded and reported",
                  file=sys.stderr)
            if report.incomplete.startswith("interrupted"):
                return EXIT_INTERRUPTED
        return code
    return handler


def _run(command: str, args: argparse.Namespace) -> Report:
    from . import api

    run = api.archive if command == "archive" else api.check
    return run(args.manifests, archive=args.archive, concurrency=args.concurrency, per_host=args.per_host,
               min_interval=args.min_interval, timeout=args.timeout, retries=args.retries,
               max_size=args.max_size, progress=not (args.no_progress or args.quiet), min_rate=args.min_rate,
               transient=args.transient, shard=args.shard, shard_by=args.shard_by, index=args.index,
               store=args.store, campaign=args.campaign,
               availability_only=getattr(args, "availability_only", False),
               ca_bundle=args.ca_bundle, suggest=args.suggest, cdx_url=args.cdx_url, replay_url=args.replay_url,
               allow_internal_redirects=args.allow_internal_redirects, max_time=args.max_time,
               max_document_time=args.max_document_time, proxy=args.proxy, user_agent=args.user_agent,
               include=tuple(args.include), exclude=tuple(args.exclude))


def _dry_run(args: argparse.Namespace) -> int:
    from . import api

    planned = api.dry_run(args.manifests, shard=args.shard, availability_only=getattr(args, "availability_only", False),
                          proxy=args.proxy, include=tuple(args.include), exclude=tuple(args.exclude))
    rows = [[p.document.id, p.method if i == 0 else "then", url, via or "direct"]
            for p in planned for i, (url, via) in enumerate(zip(p.urls, p.proxies))]
    _write(_table(["document", "method", "url", "via"], rows), None)
    n = len(planned)
    print(f"linkwatch: dry run: {n} document{'s' if n != 1 else ''}, {sum(len(p.urls) for p in planned)} URL(s) "
          "(first tries; redirects and retries not counted); nothing was fetched", file=sys.stderr)
    return EXIT_OK


def _completion(args: argparse.Namespace) -> int:
    """A completion script for bash (zsh runs it through bashcompinit): commands, their options,
    the choices of an option, and file names elsewhere."""
    parser = build_parser()
    commands = _subcommands(parser)
    cases = []
    for name, sub in commands.items():
        flags = sorted(f for a in sub._actions for f in a.option_strings if f.startswith("--"))
        choices = [f'        {"|".join(a.option_strings)}) words="{" ".join(map(str, a.choices))}" ;;'
                   for a in sub._actions if a.option_strings and a.choices]
        cases.append(f'    {name}) opts="{" ".join(flags)}"\n      case "$prev" in\n'
                     + "\n".join(choices) + ("\n" if choices else "") + "      esac ;;")
    script = f"""# linkwatch completion for bash; zsh: autoload -U bashcompinit && bashcompinit, then the same.
# Install: linkwatch completion >> ~/.bashrc   (or save it as a file in bash-completion's folder)
_linkwatch() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" opts="" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "{' '.join(commands)} --help --version" -- "$cur"); return
  fi
  case "${{COMP_WORDS[1]}}" in
{chr(10).join(cases)}
  esac
  if [ -n "$words" ]; then mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
  elif [[ "$cur" == -* ]]; then mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi
}}
complete -o filenames -F _linkwatch linkwatch
"""
    sys.stdout.write(script)
    return EXIT_OK


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _apply_config(parser: argparse.ArgumentParser) -> None:
    """Defaults from linkwatch.toml / [tool.linkwatch] (linkwatch.config), checked as if typed."""
    from .config import ConfigError, find

    config = find()
    if config is None:
        return
    commands = _subcommands(parser)
    known = {a.dest for sub in commands.values() for a in sub._actions} - {"help", "handler"}
    for key, value in config.values.items():
        if key not in known:
            raise ConfigError(f"{config.where(key)}: not an option of linkwatch (see linkwatch COMMAND --help)")
        for sub in commands.values():
            action = next((a for a in sub._actions if a.dest == key), None)
            if action is not None:
                value = _config_value(action, value, config.where(key))
                sub.set_defaults(**{key: _config_paths(key, value, config.path.parent)})


def _config_value(action: argparse.Action, value: object, where: str) -> object:
    """``value`` from the file as the option would have it, or ConfigError naming the key."""
    from .config import ConfigError

    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false")
        return value
    many = action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction)
    values = value if isinstance(value, list) else [value]
    if not many and isinstance(value, list):
        raise ConfigError(f"{where}: takes one value, not a list")
    out = []
    for v in values:
        if isinstance(v, (dict, list)):
            raise ConfigError(f"{where}: {v!r} is not a value")
        text = str(v).lower() if isinstance(v, bool) else str(v)
        try:
            converted = action.type(text) if callable(action.type) else text
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if action.choices is not None and converted not in action.choices:
            raise ConfigError(f"{where}: {v!r} is not one of {', '.join(map(str, action.choices))}")
        out.append(converted)
    return out if many else out[0]


_PATH_OPTIONS = ("manifests", "archive", "output", "ca_bundle")


def _config_paths(key: str, value: object, base: Path) -> object:
    """Paths in the configuration are relative to its folder (globs expanded there), wherever the
    command runs: a workflow and a person in a subfolder mean the same files."""
    if key not in _PATH_OPTIONS or value is None:
        return value
    import glob

    def here(path: str) -> str:  # relative to the current folder: annotations need repository paths
        return os.path.relpath(os.path.join(base, path))

    if key == "manifests":
        found = [sorted(glob.glob(str(base / p))) or [str(base / p)] for p in value]  # type: ignore[attr-defined]
        return [here(m) for paths in found for m in paths]
    return here(str(value))


def _status(args: argparse.Namespace) -> int:
    from . import api

    return _emit(api.status(args.manifests or None, archive=args.archive, index=args.index, store=args.store,
                            campaign=args.campaign), args)


def _emit(report: Report, args: argparse.Namespace) -> int:
    quiet = args.quiet and args.format in ("table", "markdown")  # only problems listed, all counted
    if quiet and args.format == "table" and not any(_is_problem(d) for d in report.documents):
        return report.exit_code(args.fail_on)  # --quiet: no problems, nothing to say
    from .report.formats import write

    to_terminal = args.output is None and sys.stdout.isatty()
    _write_with(lambda stream: write(report, args.format, stream, color=to_terminal and not os.environ.get("NO_COLOR"),
                                     width=_width() if to_terminal else None, fail_on=args.fail_on,
                                     archive=getattr(args, "archive", None), output=args.output,
                                     problems_only=quiet), args.output, commands=args.format == "github")
    return report.exit_code(args.fail_on)


def _is_problem(doc: DocumentResult) -> bool:
    """A document --quiet lists: one with a warning or an error."""
    return bool(doc.findings_at_least("warning"))


def _merge(args: argparse.Namespace) -> int:
    from .report.merge import MergeError, merge_files

    try:
        report = merge_files(args.reports)
    except MergeError as exc:
        _error(str(exc))
        return EXIT_USAGE
    return _emit(report, args)


def _lint(args: argparse.Namespace) -> int:
    from .lint import lint
    from .report.formats._text import clean
    from .report.formats.github import escape_data, escape_property

    problems = lint(args.manifests)
    for p in problems:
        if args.format == "github":
            props = f"file={escape_property(p.path)},line={p.line},title={escape_property('linkwatch lint: ' + p.field)}"
            print(f"::{p.severity} {props}::{escape_data(clean(p.message))}")
        else:
            print(clean(str(p)))
    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    n = len(args.manifests)
    also = f" (and {warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
    if errors:
        print(f"linkwatch lint: {len(errors)} problem{'s' if len(errors) != 1 else ''}{also} in "
              f"{len({p.path for p in errors})} of {n} manifest{'s' if n != 1 else ''}; "
              "fix them and run 'linkwatch lint' again (see docs/manifest.md)", file=sys.stderr)
        return EXIT_USAGE
    print(f"linkwatch lint: {n} manifest{'s' if n != 1 else ''} OK{also}", file=sys.stderr)
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    from . import api

    doc, entries = api.history(args.document, archive=args.archive, index=args.index, store=args.store)
    events = api.events(doc.id, archive=args.archive, index=args.index, store=args.store)
    if args.format == "json":
        data = {**_history_json(doc, entries), "events": [asdict(e) for e in events]}
        _write(_json(data), None)
    else:
        _write(_history_table(doc, entries) + _events_table(events), None)
    return EXIT_OK


def _events_table(events: list[Event]) -> str:
    """Preservation events (ingest, fixity checks, exports) under the observations."""
    if not events:
        return ""
    rows = [[e.at.replace("T", " ").rstrip("Z"), e.kind, e.outcome, e.detail] for e in events]
    return "\n\nPreservation events\n" + _table(["when (UTC)", "event", "outcome", "detail"], rows)


def _verify(args: argparse.Namespace) -> int:
    from . import api

    result = api.verify(archive=args.archive, sample_percent=args.sample, index=args.index, store=args.store)
    if args.format == "json":
        _write(_json({"checked": result.checked, "total": result.total, "sample_percent": result.sample_percent,
                      "warc_files": result.warc_files, "warc_records": result.warc_records,
                      "pending": result.pending, "problems": [asdict(p) for p in result.problems]}), None)
    else:
        scope = f"{result.checked} of {result.total} snapshots" if args.sample else f"{result.checked} snapshots"
        scope += f" and {result.warc_records} records in {result.warc_files} WARC file(s)"
        lines = [f"{p.kind}: {p.detail}" for p in result.problems]
        lines.append(f"verified {scope}: " + ("all match (sha256 and sha512; WARC digests)" if result.ok
                                             else f"{len(result.problems)} problem(s)"))
        if result.pending:
            lines.append(f"{result.pending} file(s) of a run still under way were left for the next check")
        _write("\n".join(lines), None)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _export(args: argparse.Namespace) -> int:
    from . import api

    from .store.warc import ExportRefused

    if args.export_format != "bagit" and (args.all_versions or args.organization or args.evidence):
        _error("--all-versions, --evidence and --organization apply to 'export bagit' only")
        return EXIT_USAGE
    try:
        if args.export_format != "bagit":
            export = api.export_warc if args.export_format == "warc" else api.export_wacz
            count = export(args.dest, manifest=args.manifest, archive=args.archive, index=args.index,
                           store=args.store)
            print(f"linkwatch: wrote {args.export_format.upper()} {args.dest}: the latest archived version "
                  f"judged ok of {count} document(s)", file=sys.stderr)
            return EXIT_OK
        bag = api.export_bagit(args.dest, manifest=args.manifest, all_versions=args.all_versions,
                               archive=args.archive, organization=args.organization, evidence=args.evidence,
                               index=args.index, store=args.store)
    except ExportRefused as exc:
        _error(str(exc))
        return EXIT_USAGE
    from .store.bag import payload_oxum

    size, files = (payload_oxum(bag).split(".") + ["?"])[:2]
    print(f"linkwatch: wrote BagIt bag {bag}: {files} file(s), {size} bytes of payload", file=sys.stderr)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from . import api

    result = api.diff(args.document, args.old, args.new, archive=args.archive, index=args.index, store=args.store)
    if args.format == "json":
        _write(_json(_diff_json(result)), None)
    else:
        _write(_diff_text(result), None)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    from . import api

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        _error(f"no such file: {', '.join(missing)}")
        return EXIT_USAGE
    results = api.inspect_files(args.files, timeout=args.timeout)
    rows = [{"file": f, **_inspection_dict(i)} for f, i in results]
    if args.format == "json":
        _write(_json(rows), None)
    else:
        _write(_table(["file", "symbols", "lang", "pages", "title / error"],
                      [[r["file"], " – ".join(r["symbols"]) or ("(placeholder)" if r["placeholder"] else "—"),
                        r["lang"] or "—", str(r["pages"] or "—"), r["error"] or r["title"] or "—"] for r in rows]), None)
    return EXIT_FINDINGS if any(r["error"] for r in rows) else EXIT_OK


def _resolve(args: argparse.Namespace) -> int:
    from . import api

    try:
        places = api.resolve_symbol(args.symbol, lang=args.lang)
    except ValueError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if args.format == "json":
        _write(_json([asdict(p) for p in places]), None)
    else:
        _write(_table(["resolver", "kind", "url"], [[p.resolver, p.kind, p.url] for p in places]), None)
    return EXIT_OK


def _discover(args: argparse.Namespace) -> int:
    from . import api

    from .un.discover import SourceError

    try:
        found = api.discover_references(args.source, lang=args.lang, timeout=args.timeout)
    except SourceError as exc:
        _error(str(exc))
        return exc.exit_code
    if args.merge:
        added = api.merge_discovered(found, args.merge)
        ids = ", ".join(r.symbol or r.url or "?" for r in added) or "nothing new"
        print(f"{args.merge}: added {len(added)} document(s): {ids}", file=sys.stderr)
        return EXIT_OK
    _write(found.to_toml(), args.output)
    return EXIT_OK


# -- rendering helpers for the look-back commands ------------------------------------------------
def _inspection_dict(ins: object) -> dict[str, object]:
    d = ins.to_dict()  # type: ignore[attr-defined]
    return {k: d.get(k) for k in ("symbols", "title", "lang", "pages", "placeholder", "reissued", "error")}


def _history_json(doc: Document, entries: list[Entry]) -> dict[str, object]:
    return {"id": doc.id, "symbols": list(doc.symbols), "observations": [
        {"observed_at": e.observation.observed_at, "status": e.observation.status, "url": e.observation.url,
         "http_status": e.observation.http_status, "final_url": e.observation.final_url,
         "sha256": e.observation.sha256, "size": e.observation.size, "not_modified": e.observation.not_modified,
         "archived": e.observation.archived,
         "title": e.observation.inspection.title if e.observation.inspection else None,
         "findings": [asdict(f) for f in e.findings]} for e in entries]}


def _history_table(doc: Document, entries: list[Entry]) -> str:
    """Every observation, oldest first, with what changed since the one before, in words."""
    from .report.formats._text import clean
    from .progress import human_size

    rows, before = [], None
    for e in entries:
        o = e.observation
        rows.append([_when(o.observed_at), o.status or "", str(o.http_status or "—"),
                     "—" if o.size is None else human_size(o.size), "✓" if o.archived else "",
                     _what_changed(before, e)])
        before = o
    kept = len({e.observation.sha256 for e in entries if e.observation.archived and e.observation.sha256})
    head = [f"{doc.id} · {doc.display_symbol or 'no symbol'}" + (f" · {doc.title}" if doc.title else ""),
            f"cited at {doc.url}" + (f" ({doc.manifest} line {doc.line})" if doc.manifest else "")]
    if entries:
        first, last = entries[0].observation, entries[-1].observation
        head.append(f"{len(entries)} observation{'s' if len(entries) != 1 else ''} from {_when(first.observed_at)} "
                    f"to {_when(last.observed_at)} UTC · {kept} version{'s' if kept != 1 else ''} kept · "
                    f"now {last.status}")
    else:
        head.append("never observed: run 'linkwatch check' on its manifest")
    return "\n".join(clean(h) for h in head) + "\n\n" + _table(
        ["date (UTC)", "status", "HTTP", "size", "kept", "what changed"], rows)


def _when(at: str | None) -> str:
    """``2025-06-01T02:00:00Z`` → ``2025-06-01 02:00`` (the column says UTC)."""
    return (at or "").replace("T", " ")[:16] or "—"


def _what_changed(before: object, entry: Entry) -> str:
    """What this observation found that the previous one did not, in words (drift kinds named)."""
    from .progress import human_size

    o, b = entry.observation, before
    title = o.inspection.title if o.inspection else None
    if b is None:
        found = " – ".join(o.inspection.symbols) if o.inspection and o.inspection.symbols else ""
        parts = ["first seen" + (f": {found}" if found else "")]
    else:
        parts = []
        if b.status != o.status:  # type: ignore[attr-defined]
            parts.append(f"{b.status} → {o.status}")  # type: ignore[attr-defined]
        if o.sha256 and b.sha256 and o.sha256 != b.sha256:  # type: ignore[attr-defined]
            parts.append(f"content-changed: new version {o.sha256[:12]}… "
                         f"({human_size(b.size)} → {human_size(o.size)})")  # type: ignore[attr-defined]
        if o.final_url and b.final_url and o.final_url != b.final_url:  # type: ignore[attr-defined]
            parts.append(f"moved to {o.final_url}")
        old_title = b.inspection.title if b.inspection else None  # type: ignore[attr-defined]
        if old_title and title and old_title != title:
            parts.append(f"retitled: {title[:60] + '…' if len(title) > 60 else title!r}")
        if not parts:
            parts.append("unchanged (304 Not Modified)" if o.not_modified else "unchanged")
    said = " ".join(parts)
    others = [f.kind for f in entry.findings if f.kind not in said and f.kind != o.status]
    problem = next((f for f in entry.findings if f.kind == o.status), None)
    if problem is not None and (b is None or b.status != o.status):  # type: ignore[attr-defined]
        parts.append(problem.message)
    if others:
        parts.append("[" + ", ".join(dict.fromkeys(others)) + "]")
    return "; ".join(parts)


def _diff_json(d: VersionDiff) -> dict[str, object]:
    return {"id": d.document.id, "old": {"sha256": d.old.sha256, "observed_at": d.old.observed_at},
            "new": {"sha256": d.new.sha256, "observed_at": d.new.observed_at},
            "changes": [{"field": f, "old": a, "new": b} for f, a, b in d.changes], "text_diff": d.text}


def _diff_text(d: VersionDiff) -> str:
    lines = [f"{d.document.id}: {(d.old.sha256 or '')[:12]} ({d.old.observed_at}) → "
             f"{(d.new.sha256 or '')[:12]} ({d.new.observed_at})"]
    lines += [f"  {name}: {old!r} → {new!r}" for name, old, new in d.changes] or ["  no metadata changes"]
    lines += ["", *d.text] if d.text else ["", "extracted text is identical"]
    from .report.formats._text import clean_block

    return clean_block("\n".join(lines))  # the text diff is the PDFs' text: a stranger's


def _table(headers: list[str], rows: list[list[str]]) -> str:
    import io

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .report.formats._text import clean

    table = Table(box=None, pad_edge=False)
    for name in headers:  # a long cell (a URL) wraps at a terminal, never loses its end
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(escape(clean(c)) for c in row))
    out = io.StringIO()
    # Piped or redirected: as wide as the content (a script reads whole URLs, one row a line).
    width = _width() if sys.stdout.isatty() else 100_000
    Console(file=out, width=width, color_system=None).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())  # no padding blanks


def _width() -> int:
    try:
        return max(60, os.get_terminal_size(sys.stdout.fileno()).columns)
    except OSError:
        return 100


def _write(text: str, output: str | None) -> None:
    _write_with(lambda stream: stream.write(text if text.endswith("\n") else text + "\n"), output)


def _json(value: object) -> str:
    """Indented JSON, inert in a terminal and a CI log (see :mod:`linkwatch.report.formats.json`)."""
    from .report.formats.json import dumps

    return dumps(value)


def _write_with(write: Callable[[IO[str]], object], output: str | None, *, commands: bool = False) -> None:
    """``write(stream)`` to stdout, or to ``output`` (a file replaced atomically once complete).
    The text written ends with a newline.

    In a GitHub Actions job (``GITHUB_ACTIONS=true``) stdout is the job's log, whose every line the
    runner scans for workflow commands: output that is not meant as commands (``commands``: the
    ``github`` format) is fenced by ``::stop-commands::TOKEN`` … ``::TOKEN::`` with a fresh random
    token, so that no title, message or URL from a stranger can act there, however a line wraps."""
    if output is None:
        fence = os.environ.get("GITHUB_ACTIONS") == "true" and not commands
        if fence:
            import secrets

            token = secrets.token_hex(16)
            sys.stdout.write(f"::stop-commands::{token}\n")
        try:
            write(sys.stdout)
        finally:
            if fence:
                sys.stdout.write(f"::{token}::\n")
        return
    path = Path(output)
    if path.exists() and not path.is_file():  # /dev/null, /dev/stdout, a FIFO: write into it, never replace it
        with open(path, "w", encoding="utf-8") as stream:
            write(stream)
        return
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", buffering=1 << 16) as stream:
            write(stream)
        os.replace(tmp, path)  # a reader never sees half a report
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _error(message: str) -> None:
    print(f"linkwatch: error: {message}", file=sys.stderr)


def _http_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def _index_url(text: str) -> str:
    from urllib.parse import urlsplit

    if urlsplit(text).scheme not in ("postgresql", "postgres"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a postgresql://… URL (the SQLite index is in --archive DIR)")
    return text


def _store_url(text: str) -> str:
    from .store.s3 import parse

    try:
        parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _proxy_url(text: str) -> str:
    """``--proxy``: an http(s) URL, or ``host:port`` (taken as http://host:port, as curl does)."""
    return _http_url(text if "://" in text else f"http://{text}")


def _header_value(text: str) -> str:
    if not text.strip() or any(c in text for c in "\r\n\0"):
        raise argparse.ArgumentTypeError("must be one line of text")
    return text


def _shard(text: str) -> tuple[int, int]:
    from .shard import parse

    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _percent(text: str) -> float:
    value = float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("must be a percentage in (0, 100]")
    return value


def _number(cast: Callable[[str], float], minimum: float, *, strict: bool = False) -> Callable[[str], float]:
    """An argparse type: a number of ``cast`` at least (or, ``strict``, more than) ``minimum``."""
    def parse(text: str) -> float:
        value = cast(text)
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be a finite number {'more than' if strict else 'at least'} {minimum:g}")
        return value
    parse.__name__ = cast.__name__  # argparse names the type in "invalid int value" messages
    return parse


_positive_float = _number(float, 0, strict=True)  # inspect/discover --timeout (run options: validation.py)


if __name__ == "__main__":
    sys.exit(main())
