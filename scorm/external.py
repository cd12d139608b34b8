"""What a package loads from outside itself: the http(s) URLs its manifest and its HTML, CSS
and JavaScript files name for the browser to fetch (scripts, styles, fonts, images, frames,
media, XHR), each with its file and line.

An LMS that serves packages under a content policy confined to their own origin (Hocvu's)
blocks every one of them, and the package then breaks or never reports, without a word to the
learner; the LMS tells the author at import instead. What is found is what the browser would
load: `src`/`href`/`data`/`poster`/`srcset` of the elements that load (not an `<a>` link, which
CSP does not govern), `url()` and `@import` in CSS (files, `<style>`, `style=""`), string
in JavaScript (files and inline `<script>`) a URL given to a loading call or property, written
in markup as `src=`, or naming a script, style, font or media file, and a resource's
`href`/`xml:base` in the manifest (not its XML namespaces and schema locations). XML namespace
names that scripts use as strings (`http://www.w3.org/2000/svg`) are not fetched and are left
out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

__all__ = ["ExternalUrl", "external_urls", "origin_of_url"]

MANIFEST = "imsmanifest.xml"
_HTML = (".html", ".htm", ".xhtml")
_SCRIPT = (".js", ".mjs")
_STYLE = (".css",)
MAX_SCANNED_BYTES = 8 * 1024 * 1024  # larger files (a video named .js?) are not read
MAX_FOUND = 200

# Namespace names: identifiers written as URLs, never fetched.
_NAMESPACE_HOSTS = frozenset(
    {"www.w3.org", "www.imsglobal.org", "www.adlnet.org", "ltsc.ieee.org", "purl.org"}
)

# Elements whose attributes make the browser fetch something (a frame, a script, an image...).
_LOADING = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG
    "use": ("href", "xlink:href"),
}
# <link rel=...> values that fetch their href.
_LINK_LOADS = frozenset(
    {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest", "import"}
)

_URL = r"(?:https?:)?//[A-Za-z0-9.\-\[\]:]+[^\s\"'`<>()\\]*"
_CSS_URL = re.compile(r"""url\(\s*["']?(""" + _URL + r""")|@import\s+["'](""" + _URL + ")")
# In JavaScript a URL is loaded when a loading call or property takes it (fetch, XHR open,
# $.getScript/ajax, import, workers and sockets, a src/poster/data assignment, `url:` of an ajax
# call), when it sits in markup written by the script (src="..."), or when it names a file
# of a kind pages load (a script, style, font or media file). A URL merely shown or linked to
# (a credit line, a "read more" address) is none of these.
_JS_STRING_URL = r"""["'`](https?://[A-Za-z0-9.\-\[\]:]+[^\s"'`<>\\]*)"""
_JS_LOADS = re.compile(
    r"""(?:\b(?:fetch|getScript|getJSON|get|post|ajax|load|loadScript|importScripts|import"""
    r"""|require|Worker|SharedWorker|WebSocket|EventSource|Audio)\s*\(\s*"""
    r"""|\bopen\s*\(\s*["'`][A-Za-z]+["'`]\s*,\s*"""  # XHR, not window.open (a navigation)
    r"""|\b(?:src|url|data|poster)\s*[:=]\s*\\?)""" + _JS_STRING_URL
)
_JS_FILE = re.compile(
    r"""["'`](https?://[A-Za-z0-9.\-\[\]:]+[^\s"'`<>\\?#]*"""
    r"""\.(?:m?js|css|woff2?|ttf|otf|eot|mp4|webm|m4v|mp3|m4a|ogg|oga|wav|json)"""
    r"""(?:[?#][^\s"'`<>\\]*)?)["'`]"""
)
_MANIFEST_URL = re.compile(r"""\b(?:href|xml:base)\s*=\s*["'](https?://[^"']+)["']""")


@dataclass(frozen=True)
class ExternalUrl:
    """A URL a package's file makes the browser load from another origin."""

    path: str
    line: int
    url: str


def origin_of_url(url: str) -> str | None:
    """scheme://host[:port] of an absolute or protocol-relative http(s) URL (https assumed
    for "//host/..."), lower-cased; None when it names no host."""
    parts = urlsplit("https:" + url if url.startswith("//") else url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{netloc}" + ("" if port in (None, default) else f":{port}")


def _fetched(url: str) -> bool:
    origin = origin_of_url(url)
    return origin is not None and urlsplit(origin).hostname not in _NAMESPACE_HOSTS


def _line_of(text: str, offset: int, first_line: int = 1) -> int:
    return first_line + text.count("\n", 0, offset)


def _in_css(text: str, first_line: int = 1) -> Iterable[tuple[int, str]]:
    for match in _CSS_URL.finditer(text):
        yield _line_of(text, match.start(), first_line), match.group(1) or match.group(2)


def _in_script(text: str, first_line: int = 1) -> Iterable[tuple[int, str]]:
    for pattern in (_JS_LOADS, _JS_FILE):
        for match in pattern.finditer(text):
            yield _line_of(text, match.start(), first_line), match.group(1)


class _Page(HTMLParser):
    """The URLs an HTML page loads, with their lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = {name: value or "" for name, value in attrs}
        names = _LOADING.get(tag, ())
        if tag == "link" and _LINK_LOADS & set(values.get("rel", "").lower().split()):
            names = ("href",)
        for name in names:
            value = values.get(name, "").strip()
            candidates = (
                [c.strip().split(" ")[0] for c in value.split(",")] if name == "srcset" else [value]
            )
            self.found.extend((line, c) for c in candidates if c)
        if "style" in values:
            self.found.extend(_in_css(values["style"], line))
        if tag in ("script", "style"):
            self._inside = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0]
        if self._inside == "script":
            self.found.extend(_in_script(data, line))
        elif self._inside == "style":
            self.found.extend(_in_css(data, line))


def _urls_of(path: str, text: str) -> Iterable[tuple[int, str]]:
    lower = path.lower()
    if path == MANIFEST:
        for match in _MANIFEST_URL.finditer(text):
            yield _line_of(text, match.start()), match.group(1)
    elif lower.endswith(_HTML):
        page = _Page()
        page.feed(text)
        page.close()
        yield from page.found
    elif lower.endswith(_STYLE):
        yield from _in_css(text)
    elif lower.endswith(_SCRIPT):
        yield from _in_script(text)


def scanned(path: str) -> bool:
    """Whether `external_urls` reads this file of a package (by its name)."""
    return path == MANIFEST or path.lower().endswith(_HTML + _STYLE + _SCRIPT)


def external_urls(files: Mapping[str, bytes], limit: int = MAX_FOUND) -> list[ExternalUrl]:
    """Every URL of another origin that the package's manifest, HTML, CSS and JavaScript make
    the browser load, in file order (at most `limit`; each URL once per file)."""
    found: list[ExternalUrl] = []
    for path in sorted(files):
        if not scanned(path):
            continue
        data = files[path]
        if len(data) > MAX_SCANNED_BYTES:
            continue
        text = data.decode("utf-8", errors="replace")
        seen: set[str] = set()
        for line, url in _urls_of(path, text):
            if url in seen or not _fetched(url):
                continue
            seen.add(url)
            found.append(ExternalUrl(path, line, url))
            if len(found) >= limit:
                return found
    return found
