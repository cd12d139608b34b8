"""Markdown rendering and the allow-list sanitizer: what an author cannot inject."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

from courses.markdown import local_references, render, sanitize, slugify
from courses.media import MediaInfo, describe, image_size


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", ["<script", "alert(1)"]),
        ('<img src="x" onerror="alert(1)">', ["onerror"]),
        ("[bấm vào đây](javascript:alert(1))", ["javascript:"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<iframe src="https://evil.example/"></iframe>', ["<iframe", "evil.example"]),
        ("<iframe src=evil></iframe>", ["<iframe"]),
        ('<div style="position:fixed">x</div>', ["style="]),
        ('<form action="/logout"><button>x</button></form>', ["<form", "<button"]),
        ('<svg onload="alert(1)"></svg>', ["<svg", "onload"]),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
        ("<style>body{display:none}</style>", ["<style", "display:none"]),
        ('<object data="x.swf"></object>', ["<object"]),
    ],
)
def test_hostile_markup_is_removed(source, forbidden):
    html = render(f"Đoạn văn.\n\n{source}\n")
    for piece in forbidden:
        assert piece not in html, (source, html)
    assert "Đoạn văn." in html


def test_allowed_video_hosts_keep_their_iframe():
    html = render('<iframe src="https://www.youtube-nocookie.com/embed/abc"></iframe>')
    assert html.startswith("<iframe ")
    assert 'src="https://www.youtube-nocookie.com/embed/abc"' in html
    http = render('<iframe src="http://www.youtube.com/embed/abc"></iframe>')
    assert "<iframe" not in http


def test_markdown_features_render():
    source = (
        "## Cổng Dịch vụ công\n\n"
        "| Mức | Cách đăng ký |\n|---|---|\n| 1 | Trên ứng dụng |\n\n"
        '!!! warning "Cảnh báo"\n    Không đọc mã OTP cho ai.\n\n'
        "```\ncode <b>giữ nguyên</b>\n```\n\n"
        "Chú thích[^1]\n\n[^1]: Nội dung chú thích.\n"
    )
    html = render(source)
    assert '<h2 id="hocvu-md-cong-dich-vu-cong">Cổng Dịch vụ công</h2>' in html
    assert "<table>" in html and "<td>Trên ứng dụng</td>" in html
    assert '<div class="admonition warning">' in html
    assert "code &lt;b&gt;giữ nguyên&lt;/b&gt;" in html
    assert 'class="footnote-ref"' in html and "Quay lại đoạn có chú thích 1" in html


def test_text_is_nfc_and_links_get_noopener():
    html = render("Nguye\u0302\u0303n [cổng](https://dichvucong.gov.vn)")
    assert "Nguyễn" in html
    assert 'rel="noopener noreferrer"' in html


def test_media_paths_are_resolved_by_the_caller():
    html = render("![ảnh](media/a.png) [tệp](media/b.pdf)", lambda p: f"/files/7/{p}")
    assert 'src="/files/7/media/a.png"' in html and 'href="/files/7/media/b.pdf"' in html
    assert 'loading="lazy"' in html


def test_local_references_are_found_with_lines_outside_code():
    text = "a\n![x](media/a.png)\n```\n![no](media/code.png)\n```\n<img src='media/b.png'>\n"
    text += "[web](https://example.org) [anchor](#top)\n"
    assert local_references(text) == [(2, "media/a.png"), (6, "media/b.png")]


def test_slugify_drops_diacritics():
    assert slugify("Đăng ký tài khoản mức 2") == "dang-ky-tai-khoan-muc-2"


# The embed codes the two hosts give out (YouTube's "Share > Embed", Vimeo's "Embed"), as an
# author pastes them, and a hand-written one asking for more.
PASTED_EMBEDS = [
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/abc" '
    'title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; '
    'clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" '
    'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>',
    '<iframe src="https://player.vimeo.com/video/76979871?h=8272103f6e" width="640" '
    'height="360" frameborder="0" allow="autoplay; fullscreen; picture-in-picture; '
    'clipboard-write; encrypted-media; web-share"></iframe>',
    '<iframe src="https://www.youtube-nocookie.com/embed/abc" allow="camera *; microphone; '
    'geolocation; payment; usb; display-capture; fullscreen"></iframe>',
    '<iframe src="https://www.youtube-nocookie.com/embed/abc"></iframe>',
]


@pytest.mark.parametrize("embed", PASTED_EMBEDS, ids=["youtube", "vimeo", "more", "none"])
def test_video_frames_may_use_only_what_a_video_player_needs(embed):
    # Permissions Policy (W3C): an iframe's `allow` delegates features of the page to the
    # frame; a video needs full screen, picture-in-picture and EME, nothing of the device.
    html = render(embed)
    frame = {name: value for tag, name, value in _Attributes(html).found if tag == "iframe"}
    assert frame["allow"] == "fullscreen; picture-in-picture; encrypted-media", html
    assert frame["allowfullscreen"] == "" and frame["src"].startswith("https://"), html
    assert html.count("<iframe") == 1 and sanitize(html) == html


class _Attributes(HTMLParser):
    """Every (tag, attribute, value) of a fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.extend((tag, name, value or "") for name, value in attrs)

    def values(self, attribute: str) -> list[str]:
        return [value for _tag, name, value in self.found if name == attribute]


# Names the lesson page and its scripts look up: `meta[name=csrf-token]` and the CSRF field
# (scorm-player.js, forms), the ids read by getElementById in lms/static/js (scorm-player, attempt,
# save-state, timer, job...), the ids around the lesson text (main, self-check, finish), and
# the globals of the SCORM adapter (API, HocvuScorm). An element with one of these as its id or
# name becomes window.<name> / document.<name> or a duplicate id (DOM clobbering, OWASP "DOM
# Clobbering Prevention Cheat Sheet").
PAGE_NAMES = {
    "csrf-token",
    "csrf_token",
    "scorm-player",
    "attempt",
    "save-state",
    "timer",
    "job",
    "job-bar",
    "job-state",
    "main",
    "self-check",
    "finish",
    "API",
    "HocvuScorm",
}
CLOBBERING = "\n\n".join(
    [
        "# main",
        "[TOC]",
        "## csrf-token",
        '<form id="scorm-player" name="scorm-player"><input name="csrf_token"></form>',
        '<img src="https://example.org/a.png" name="csrf_token" id="timer">',
        '<a id="finish" name="HocvuScorm" href="#self-check">Làm bài</a>',
        '<iframe src="https://www.youtube-nocookie.com/embed/abc" id="API" name="API"></iframe>',
        '<div id="attempt"><span id="save-state">x</span></div>',
        "Chú thích[^job] và [xem](#section).",
        "## Section",
        "[^job]: Nội dung chú thích.",
    ]
)


def test_ids_from_markdown_are_prefixed_so_they_cannot_clobber_the_page():
    html = render(CLOBBERING)
    attributes = _Attributes(html)
    ids = attributes.values("id")
    # headings (2 + section), the author's img/a/iframe/div/span, footnote ref and note
    assert len(ids) >= 10, html
    assert [i for i in ids if not i.startswith("hocvu-md-")] == [], html
    assert attributes.values("name") == [], html
    assert PAGE_NAMES.isdisjoint(ids)
    assert '<h1 id="hocvu-md-main">main</h1>' in html
    assert '<img src="https://example.org/a.png" id="hocvu-md-timer">' in html


def test_in_page_links_lead_to_the_prefixed_ids():
    html = render(CLOBBERING)
    attributes = _Attributes(html)
    assert '<a href="#hocvu-md-section" rel="noopener noreferrer">xem</a>' in html
    assert '<h2 id="hocvu-md-section">Section</h2>' in html
    targets = {href[1:] for href in attributes.values("href") if href.startswith("#")}
    # the table of contents, the footnote and its way back, the author's links
    assert {"hocvu-md-main", "hocvu-md-fn:job", "hocvu-md-fnref:job"} <= targets
    assert targets <= set(attributes.values("id")) | {"hocvu-md-self-check"}
    assert render("[đầu trang](#)") == '<p><a href="#" rel="noopener noreferrer">đầu trang</a></p>'


def test_sanitizing_rendered_html_again_changes_nothing():
    html = render(CLOBBERING)
    assert sanitize(html) == html


def _image(kind: str, width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("path", "data", "size"),
    [
        ("media/a.png", _image("PNG", 640, 360), (640, 360)),
        ("media/a.jpg", _image("JPEG", 1200, 900), (1200, 900)),
        ("media/a.webp", _image("WEBP", 48, 30), (48, 30)),
        (
            "media/a.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32">',
            (64, 32),
        ),
        ("media/a.svg", b'<?xml version="1.0"?>\n<svg viewBox="0 0 120 80.5">', (120, 80)),
        ("media/a.svg", b'<svg width="100%" height="100%">', None),  # no size of its own
        ("media/a.png", b"not an image", None),
    ],
)
def test_image_size_is_read_from_the_file(path, data, size):
    assert image_size(path, data) == size


def test_images_get_their_width_and_height_from_the_bundle():
    """HTML's rule "map width and height to aspect-ratio": with both attributes the browser
    reserves the image's box before the (lazy) image arrives, so the text does not jump."""
    files = {"media/a.png": MediaInfo(2000, 640, 360)}
    html = render(
        "![Ảnh](media/a.png) ![Không rõ](media/b.png) ![Web](https://example.org/c.png)",
        lambda path: f"/files/7/{path}",
        describe=files.get,
    )
    assert (
        '<img alt="Ảnh" height="360" loading="lazy" src="/files/7/media/a.png" width="640">' in html
    )
    assert '<img alt="Không rõ" loading="lazy" src="/files/7/media/b.png">' in html
    assert '<img alt="Web" loading="lazy" src="https://example.org/c.png">' in html


def test_a_bundle_video_plays_in_the_browsers_player_and_loads_nothing_before_play():
    """`![title](media/x.mp4)` is a <video> of the bundle's file with its size (for Data
    Saver's button); preload="none": HTML's "hint that the author does not expect the user
    to need the media resource", so a phone downloads nothing until play is pressed."""
    html = render(
        "![Cách cài VNeID](media/cai-vneid.mp4)",
        lambda path: f"/files/7/{path}",
        describe=lambda url: describe(url, b"\0" * 12_345_678),
    )
    assert html == (
        '<p><video controls="" preload="none" data-size="12345678" '
        'src="/files/7/media/cai-vneid.mp4" title="Cách cài VNeID">Cách cài VNeID</video></p>'
    )
    assert sanitize(html) == html


@pytest.mark.parametrize(
    "source",
    [
        '<video src="https://cdn.example/x.mp4" autoplay></video>',
        '<video src="//cdn.example/x.mp4"></video>',
        "![x](https://cdn.example/x.mp4)",
    ],
)
def test_a_video_from_another_site_is_not_played(source):
    html = render(f"Đoạn văn.\n\n{source}\n")
    assert "<video" not in html and "autoplay" not in html


def test_a_videos_size_is_a_number_or_nothing():
    html = sanitize('<video src="media/a.mp4" data-size="12 MB" onplay="x()" preload="auto">')
    assert "data-size" not in html and "onplay" not in html
    assert html.startswith('<video controls="" preload="none" src="media/a.mp4">')
