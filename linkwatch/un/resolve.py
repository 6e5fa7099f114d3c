"""Where a UN document symbol can be fetched from, and UNCTAD's file-code convention.

UN-specific knowledge, kept here so the generic stages stay generic:

- :func:`resolve` lists the places a symbol can be fetched from, in a fixed order (the ODS symbol
  API, undocs.org, docs.un.org, the Digital Library search, UNCTAD's file store);
- :func:`primary_url` / :func:`mirror_urls` pick from them for a manifest entry that gives only a
  symbol, or asks for ``mirrors = "auto"``;
- :func:`unctad_code` / :func:`symbol_from_unctad_code` implement UNCTAD's file names
  (``a79d62`` ↔ ``A/79/62``, ``tdbex70r1`` ↔ ``TD/B/EX(70)/R.1``). The convention is a *hint*:
  real files also use ``ecosoc_res_2023d3`` and ``A_res_78_132``, so both kinds are candidates.

Nothing here touches the network: resolving is string work; linkwatch's fetch stage finds out
which of the places actually serves the document.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from . import symbols as unsymbols

# The six official languages (ISO 639-1). UNCTAD's file names write Chinese as "ch".
LANGUAGES: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es")
_UNCTAD_LANG = {"zh": "ch"}


@dataclass(frozen=True)
class Resolvers:
    """Base URLs of the resolvers. The defaults are the real services; a test (or an institution
    behind its own mirror) passes others."""

    ods: str = "https://documents.un.org"
    undocs: str = "https://undocs.org"
    docs: str = "https://docs.un.org"
    library: str = "https://digitallibrary.un.org"
    unctad: str = "https://unctad.org"

    def redirecting_hosts(self) -> tuple[str, ...]:
        """Hosts whose requests end at one host: undocs.org and docs.un.org redirect to the ODS
        (``--shard`` keeps them in one shard, so the ODS is asked by one runner)."""
        return tuple(urlsplit(u).hostname or "" for u in (self.ods, self.undocs, self.docs))


DEFAULT = Resolvers()


@dataclass(frozen=True)
class Place:
    """One place a symbol can be fetched from."""

    resolver: str  # "ods" | "undocs" | "docs" | "library" | "unctad"
    url: str
    kind: str  # "pdf": the bytes should be the document; "page": an HTML page about it
    note: str = ""


def resolve(symbol: str, lang: str = "en", resolvers: Resolvers = DEFAULT) -> list[Place]:
    """Every place ``symbol`` can be fetched from, in order. A joint symbol resolves by its first
    part (the document is filed under each; UNCTAD names the file after the first)."""
    first = _first_part(symbol)
    # "S/RES/2768(2025)": resolvers take a Security Council resolution's year unspaced; a part
    # keeps its spaces, encoded ("A/80/15%20(Part%20I)"), never squeezed into "(PartI)".
    compact = re.sub(r"\s+\(((?:19|20)\d\d)\)$", r"(\1)", first)
    path = quote(compact, safe="/()")
    search = quote(f'191__a:"{first}"', safe="")  # MARC 191 $a holds the symbol in the catalogue
    places = [
        Place("ods", f"{resolvers.ods}/api/symbol/access?s={path}&l={lang}&t=pdf", "pdf",
              "Official Document System symbol API: the PDF itself"),
        Place("undocs", f"{resolvers.undocs}/{lang}/{path}", "pdf", "redirects to the ODS file"),
        Place("docs", f"{resolvers.docs}/{lang}/{path}", "pdf", "redirects to the ODS file"),
        Place("library", f"{resolvers.library}/search?ln={lang}&p={search}", "page",
              "UN Digital Library search by symbol (an HTML page listing the record)"),
    ]
    for code in unctad_codes(first):
        places.append(Place("unctad", unctad_url(code, lang, resolvers), "pdf",
                            "UNCTAD file store (file name by convention: may not exist)"))
    return places


def primary_url(symbol: str, lang: str = "en", resolvers: Resolvers = DEFAULT) -> str:
    """The URL a symbol-only manifest entry is checked at.

    UNCTAD's own series (TD/, UNCTAD/, E/CN.16/) are static files on unctad.org, served to any
    client: their file is the primary. Everything else goes to the ODS symbol API, which answers
    with the PDF itself in one request (undocs.org and docs.un.org only redirect to it; the
    Digital Library search is an HTML page; a guessed UNCTAD file name may not exist).
    """
    places = [p for p in resolve(symbol, lang, resolvers) if p.kind == "pdf"]
    if _is_unctad_series(_first_part(symbol)):
        return next((p.url for p in places if p.resolver == "unctad"), places[0].url)
    return places[0].url


def mirror_urls(symbol: str, lang: str = "en", resolvers: Resolvers = DEFAULT,
                exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ``mirrors = "auto"`` list: every resolved place that can serve the PDF (not the
    Digital Library search page), in :func:`resolve` order, without ``exclude`` or duplicates."""
    out: list[str] = []
    for place in resolve(symbol, lang, resolvers):
        if place.kind == "pdf" and place.url not in exclude and place.url not in out:
            out.append(place.url)
    return tuple(out)


def _first_part(symbol: str) -> str:
    parts = unsymbols.split_joint(symbol)
    if not parts or unsymbols.parse(parts[0]) is None:
        raise ValueError(f"{symbol!r} is not a document symbol")
    return unsymbols.normalise(parts[0])


def _is_unctad_series(symbol: str) -> bool:
    return symbol.startswith(("TD/", "UNCTAD/", "E/CN.16/"))


# --------------------------------------------------------------------------- UNCTAD file codes

# Prefixes UNCTAD abbreviates instead of spelling out: the Working Party of the Trade and
# Development Board files TD/B/WP/343/Add.2 as "wpd343add2".
_CODE_PREFIXES: dict[str, str] = {"TD/B/WP": "wp"}
# Prefixes a code can start with, longest first when decoding (code → symbol prefix).
_DECODE_PREFIXES: dict[str, str] = {
    "ecn16": "E/CN.16", "tdb": "TD/B", "wp": "TD/B/WP", "td": "TD", "a": "A", "e": "E", "s": "S",
}
_DECODE = re.compile(
    rf"^(?P<prefix>{'|'.join(sorted(_DECODE_PREFIXES, key=len, reverse=True))})"
    r"(?P<session>ex\d+|\d+)?(?P<sep>crp|d|r|l)(?P<number>\d+)(?P<mods>(?:add|rev|corr)\d+)*$"
)
_MOD_CODE = re.compile(r"(add|rev|corr)(\d+)")
_LANG_SUFFIX = re.compile(r"_(ar|ch|zh|en|fr|ru|es)$", re.IGNORECASE)


def unctad_code(symbol: str) -> str:
    """UNCTAD's file code for a symbol by the convention: lowercase, ``/ . ( )`` dropped, the last
    separator written ``d`` (or the document type: ``r``, ``l``, ``crp``), modifiers appended.

    ``A/79/62`` → ``a79d62``; ``TD/B/EX(70)/R.1`` → ``tdbex70r1``; ``TD/B/WP/343/Add.2`` → ``wpd343add2``.
    """
    sym = unsymbols.parse(_first_part(symbol))
    if sym is None:
        raise ValueError(f"{symbol!r} is not a document symbol")
    head = "/".join([sym.organ, *sym.bodies] + ([sym.doc_type] if sym.doc_type and not sym.numbered_type else []))
    head = _CODE_PREFIXES.get(head, head)
    if sym.organ == "UNCTAD":
        head = head.removeprefix("UNCTAD/")  # UNCTAD's own documents are filed without it
    if sym.organ == "UNCTAD" and not sym.session and re.fullmatch(r"(?:19|20)\d\d", sym.number or ""):
        # A yearly publication is filed under its series and year: UNCTAD/WIR/2024 → wir2024.
        return _squash(head) + sym.number + "".join(_squash(m) for m in sym.modifiers)
    code = _squash(head) + _squash(sym.session or "")
    sep = sym.doc_type.lower() if sym.numbered_type else "d"
    code += sep + _squash(sym.number or "")
    return code + "".join(_squash(m) for m in sym.modifiers)


def unctad_codes(symbol: str) -> list[str]:
    """File codes to try for a symbol: the convention first, then the names UNCTAD really uses for
    resolutions (``ecosoc_res_2023d3`` for E/RES/2023/3, ``A_res_78_132`` for A/RES/78/132)."""
    sym = unsymbols.parse(_first_part(symbol))
    if sym is None or not _unctad_publishes(sym):
        return []
    codes = [unctad_code(symbol)]
    if sym.doc_type == "RES" and not sym.bodies and sym.session and sym.number and not sym.modifiers:
        if sym.organ == "E":
            codes.insert(0, f"ecosoc_res_{sym.session}d{sym.number}")
        elif sym.organ == "A":
            codes.insert(0, f"A_res_{sym.session}_{sym.number}")
    return codes


def _unctad_publishes(sym: unsymbols.Symbol) -> bool:
    """True for the documents UNCTAD's file store holds: its own series (TD/…, UNCTAD/…, and
    E/CN.16/… of the Commission on Science and Technology for Development it services) and plenary
    documents of the General Assembly and the Economic and Social Council (reports it prepares,
    resolutions that mandate it: a79d62, ares70d1, ecosoc_res_2023d3). Not a Security Council or
    Human Rights Council document, nor a part of a report (its code would be the whole report's)."""
    if sym.part and not sym.part.isdigit():
        return False
    if sym.organ in ("TD", "UNCTAD") or (sym.organ == "E" and sym.bodies[:1] == ("CN.16",)):
        return True
    return sym.organ in ("A", "E") and not sym.bodies


def unctad_url(code: str, lang: str = "en", resolvers: Resolvers = DEFAULT) -> str:
    """``https://unctad.org/system/files/official-document/<code>_<lang>.pdf``."""
    return f"{resolvers.unctad}/system/files/official-document/{code}_{_UNCTAD_LANG.get(lang, lang)}.pdf"


def symbol_from_unctad_code(code: str) -> str | None:
    """The symbol a file code (or file name, or URL) stands for, or None when it does not follow a
    known pattern. ``a79d62_en.pdf`` → ``A/79/62``; ``ecosoc_res_2023d3`` → ``E/RES/2023/3``."""
    name = code.rsplit("/", 1)[-1].split("?", 1)[0]
    name = re.sub(r"\.pdf$", "", name, flags=re.IGNORECASE)
    name = _LANG_SUFFIX.sub("", name)
    m = re.fullmatch(r"ecosoc_res_(\d{4})d(\d+)", name, re.IGNORECASE)
    if m:
        return f"E/RES/{m.group(1)}/{m.group(2)}"
    m = re.fullmatch(r"a_res_(\d+)_(\d+)", name, re.IGNORECASE)
    if m:
        return f"A/RES/{m.group(1)}/{m.group(2)}"
    m = _DECODE.fullmatch(name.lower())
    if not m:
        return None
    parts = [_DECODE_PREFIXES[m.group("prefix")]]
    session = m.group("session")
    if session:
        parts.append(f"EX({session[2:]})" if session.startswith("ex") else session)
    sep, number = m.group("sep"), m.group("number")
    parts.append(number if sep == "d" else f"{sep.upper()}.{number}")
    parts += [f"{w.capitalize()}.{n}" for w, n in _MOD_CODE.findall(m.group("mods") or "")]
    return unsymbols.normalise("/".join(parts))


def _squash(text: str) -> str:
    return re.sub(r"[/.()\s-]", "", text).lower()
