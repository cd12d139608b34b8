"""Markdown rendering and the allow-list sanitizer: what an author cannot inject."""

from __future__ import annotations

import pytest

from courses.markdown import local_references, render, slugify


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
    assert '<iframe src="https://www.youtube-nocookie.com/embed/abc">' in html
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
    assert '<h2 id="cong-dich-vu-cong">Cổng Dịch vụ công</h2>' in html
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
