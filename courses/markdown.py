"""Markdown to safe HTML: python-markdown for the syntax, then the nh3 allow-list sanitizer.

The sanitizer is the security boundary, not the Markdown parser: whatever an author writes
(raw HTML included), only the tags, attributes and URL schemes listed here reach a learner.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET  # noqa: S405 - only walks a tree python-markdown built
from collections.abc import Callable
from html import escape as html_escape
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from courses.media import MediaInfo, is_video

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "iframe",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "video",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    # "allow" and "allowfullscreen" are not the author's to choose: see VIDEO_PERMISSIONS.
    "iframe": {"src", "width", "height"},
    # A bundle's video (`![title](media/x.mp4)`), its size in bytes for Data Saver's button;
    # `controls` and `preload` are not the author's to choose (set in sanitize()).
    "video": {"src", "width", "height", "data-size"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
# Classes are allowed per tag by value (nh3 refuses "class" in ALLOWED_ATTRIBUTES too).
ALLOWED_CLASSES = {
    "div": {"admonition", "note", "tip", "warning", "danger", "important", "footnote", "toc"},
    "p": {"admonition-title"},
    "sup": {"footnote-ref"},
    "a": {"footnote-ref", "footnote-backref"},
}
VIDEO_HOSTS = {"www.youtube.com", "youtube.com", "www.youtube-nocookie.com", "player.vimeo.com"}
# What an embedded video player may use, set on every iframe whatever the author pasted (the
# embed codes of YouTube and Vimeo ask for clipboard-write, gyroscope, web-share...): full
# screen, picture-in-picture, and encrypted-media for the videos these hosts protect with DRM.
# No autoplay: a lesson never starts a video by itself; the learner presses play inside the
# player, and a click in the frame needs no delegated permission. `allowfullscreen` says
# "fullscreen" again for browsers that read only the older attribute (Safari); where both are
# present, `allow` decides (Permissions Policy).
VIDEO_PERMISSIONS = "fullscreen; picture-in-picture; encrypted-media"
URL_SCHEMES = {"http", "https", "mailto"}
# Every id in a lesson (the author's own, and those python-markdown makes for headings, the
# table of contents and footnotes) gets this prefix, and so does every in-page link (`#x`).
# Unprefixed, `<a id="csrf_token">` or a heading "Main" would become window.csrf_token or a
# second #main on the page, shadowing what the page's scripts look up (DOM clobbering); GitHub
# prefixes "user-content-" for the same reason. `name`, which clobbers document.x, is never
# allowed (ALLOWED_ATTRIBUTES).
ID_PREFIX = "hocvu-md-"


def slugify(value: str, separator: str = "-") -> str:
    """Heading anchors without diacritics: 'Cổng Dịch vụ công' -> 'cong-dich-vu-cong'."""
    value = unicodedata.normalize("NFD", value.lower().replace("đ", "d"))
    value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", separator, value).strip(separator)


def is_local_reference(url: str) -> bool:
    """True for a path inside the bundle (media/x.png), false for web links and anchors."""
    if not url or url.startswith(("#", "/", "//")):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


# What is known of a bundle file, from the path written in the Markdown; None if unknown.
Describe = Callable[[str], "MediaInfo | None"]


class _RewriteLocal(Treeprocessor):
    def __init__(self, md, resolve: Callable[[str], str], describe: Describe | None) -> None:
        super().__init__(md)
        self.resolve = resolve
        self.describe = describe

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            attr = {"img": "src", "a": "href"}.get(element.tag)
            local = bool(attr) and is_local_reference(element.get(attr, ""))
            info = self.describe(element.get(attr)) if local and self.describe else None
            if element.tag == "img" and local and is_video(element.get("src")):
                _as_video(element, self.resolve(element.get("src")), info)
                continue
            if element.tag == "img":
                element.set("loading", "lazy")
                # The browser reserves the image's box before it arrives (its aspect ratio,
                # with the style sheet's max-width: 100%; height: auto).
                if info and info.width and not element.get("width") and not element.get("height"):
                    element.set("width", str(info.width))
                    element.set("height", str(info.height))
            if local:
                element.set(attr, self.resolve(element.get(attr)))


def _as_video(element: ET.Element, src: str, info: MediaInfo | None) -> None:
    """`![title](media/x.mp4)`: the bundle's video in the browser's own player. It loads
    nothing before the learner presses play (preload="none", set by sanitize())."""
    title = element.get("alt", "").strip()
    element.tag = "video"
    element.attrib.clear()
    element.set("src", src)
    if title:
        element.set("title", title)
        element.text = title  # shown by a browser that cannot play it
    if info:
        element.set("data-size", str(info.size))


class _LocalLinks(Extension):
    def __init__(self, resolve: Callable[[str], str], describe: Describe | None) -> None:
        super().__init__()
        self.resolve = resolve
        self.describe = describe

    def extendMarkdown(self, md) -> None:  # noqa: N802 - python-markdown's API
        md.treeprocessors.register(
            _RewriteLocal(md, self.resolve, self.describe), "hocvu_local_links", 5
        )


def _prefixed(name: str) -> str:
    # Already prefixed stays as is, so that sanitizing stored HTML again changes nothing.
    return name if name.startswith(ID_PREFIX) else ID_PREFIX + name


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "iframe" and attribute == "src":
        parts = urlsplit(value)
        if parts.scheme != "https" or parts.hostname not in VIDEO_HOSTS:
            return None
    if tag == "video" and attribute == "src":
        # Only the course's own files: a video from elsewhere would cost the learner's data
        # without the lesson saying how much, and tell that site who watches.
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or value.startswith("//"):
            return None
    if attribute == "data-size" and not value.isdigit():
        return None
    if attribute == "id":
        return _prefixed(value)
    if attribute == "href" and value.startswith("#") and value != "#":
        return "#" + _prefixed(value[1:])
    return value


def sanitize(html: str, resolve: Callable[[str], str] | None = None) -> str:
    """Keep only allow-listed tags, attributes, classes and URL schemes; prefix ids (ID_PREFIX).

    With `resolve`, image and link paths inside the bundle (media/x.png) are mapped to URLs.
    """

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        local = (tag, attribute) in (("img", "src"), ("a", "href")) and is_local_reference(value)
        if resolve and local:
            value = resolve(value)
        return _attribute_filter(tag, attribute, value)

    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        allowed_classes=ALLOWED_CLASSES,
        set_tag_attribute_values={"iframe": {"allow": VIDEO_PERMISSIONS}},
        link_rel="noopener noreferrer",
    )
    # An iframe or a video whose src was removed is an empty box: drop it.
    cleaned = re.sub(r"<iframe(?![^>]*\ssrc=)[^>]*>\s*</iframe>", "", cleaned)
    cleaned = re.sub(r"<video(?![^>]*\ssrc=)[^>]*>[^<]*</video>", "", cleaned)
    # Added here rather than by nh3, which writes the attributes it sets in a random order.
    # A video shows the browser's controls and loads nothing before the learner presses play.
    cleaned = cleaned.replace("<video ", '<video controls="" preload="none" ')
    return cleaned.replace("<iframe ", '<iframe allowfullscreen="" ')


_BACKLINK_TITLES = {"vi": "Quay lại đoạn có chú thích %d", "en": "Back to the text of note %d"}


def render(
    text: str,
    resolve: Callable[[str], str] = lambda path: path,
    language: str = "vi",
    describe: Describe | None = None,
) -> str:
    """Render Markdown (NFC) to sanitized HTML; `resolve` maps bundle paths to URLs,
    `describe` tells an image's width and height and a video's size (courses.media)."""
    text = unicodedata.normalize("NFC", text)
    html = markdown.markdown(
        text,
        extensions=[
            "tables",
            "fenced_code",
            "admonition",
            "footnotes",
            "sane_lists",
            "toc",
            _LocalLinks(resolve, describe),
        ],
        extension_configs={
            "toc": {"slugify": slugify, "permalink": False},
            "footnotes": {"BACKLINK_TITLE": _BACKLINK_TITLES.get(language, "%d")},
        },
        output_format="html",
    )
    return sanitize(html)


def render_text(
    text: str, text_format: str, resolve: Callable[[str], str] = lambda path: path
) -> str:
    """A question's text as safe HTML: plain text escaped, HTML sanitized, Markdown rendered."""
    if text_format == "html":
        return sanitize(text, resolve)
    if text_format == "markdown":
        return render(text, resolve)
    return html_escape(text)


_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"""<(?:img|a)\b[^>]*?\s(?:src|href)\s*=\s*["']?([^"'\s>]+)""", re.I)


def local_references(text: str) -> list[tuple[int, str]]:
    """(line, path) for each image or link in the Markdown that points into the bundle."""
    found = []
    in_code = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code:
            continue
        for pattern in (_LINK, _HTML_SRC):
            for match in pattern.finditer(line):
                url = match.group(1)
                if is_local_reference(url):
                    found.append((number, url.split("#", 1)[0].split("?", 1)[0]))
    return found
