"""HTML as the Markdown-ish text ``discover`` reads: links ``[text](url)``, list items ``- …``,
one line per block element.

Read with the standard library's event parser, in one pass: a tree (BeautifulSoup) costs the depth
of the tree for every text node between tags, so a page of 10,000 nested ``<div>`` took 27 s and
20,000 over a minute; here time is linear in the page whatever its shape.
"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

# Elements that end a line of text: without the break, adjacent cells or items would run together
# ("A/79/80A/79/81" read as one symbol from <td>A/79/80</td><td>A/79/81</td>).
BLOCKS = frozenset({
    "p", "div", "li", "tr", "td", "th", "caption", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "blockquote", "ul", "ol", "table", "dl", "dd", "dt", "header", "footer", "nav", "main", "aside", "figure",
    "figcaption", "pre", "address", "hr", "br"})
# Never text a reader sees.
_HIDDEN = frozenset({"script", "style", "noscript", "template"})


def html_to_text(html: str, base_url: str | None = None) -> str:
    """HTML as Markdown-ish text: links become ``[text](url)`` (relative ones made absolute), list
    items ``- …``, block elements their own lines; scripts, styles and templates dropped."""
    reader = _Reader(base_url)
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.out).splitlines())
    return "\n".join(line for line in lines if line)


class _Reader(HTMLParser):
    def __init__(self, base_url: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.out: list[str] = []
        self.hidden = 0  # inside how many hidden elements
        self.links: list[tuple[str | None, list[str]]] = []  # open <a>: (href, its text so far)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in BLOCKS:
            self._emit("\n- " if tag == "li" else "\n")
        if tag == "a":
            self.links.append((self._href(dict(attrs).get("href")), []))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "a" and self.links:
            self._end_link()
        elif tag in BLOCKS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self._emit(data)

    def close(self) -> None:
        super().close()
        while self.links:  # an <a> never closed: its text stays
            self._end_link()

    def _end_link(self) -> None:
        href, parts = self.links.pop()
        text = " ".join("".join(parts).split())
        self._emit(f"[{text}]({href})" if href and href.startswith(("http://", "https://")) else text)

    def _emit(self, text: str) -> None:
        (self.links[-1][1] if self.links else self.out).append(text)

    def _href(self, href: str | None) -> str | None:
        if not href:
            return None
        try:
            return urljoin(self.base_url, href.strip()) if self.base_url else href.strip()
        except ValueError:  # "http://[::1": kept as written; discover writes no URL the manifest refuses
            return href.strip()
