"""Lighter answers on weak connections (issue 23): pages, CSS and JavaScript are gzipped for
browsers that accept it, versioned static files are cached for a year in every mode, and
nothing else changes (small answers, browsers without gzip, a site that leaves it to its
proxy)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

import lms

STATIC = Path(lms.__file__).parent / "static"


def test_pages_are_gzipped_for_browsers_that_accept_it(client):
    """RFC 9110 8.4 / 12.5.3: Content-Encoding names the coding, Vary names Accept-Encoding."""
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.data)
    # The CSRF token is signed with the second it was made: two pages may differ there only.
    token = re.compile(rb'(name="csrf_token" type="hidden" value=")[^"]+')
    assert token.sub(rb"\1", body) == token.sub(rb"\1", plain.data)
    assert "Đăng nhập".encode() in body
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2


def test_an_answer_too_small_to_compress_does_not_vary_with_accept_encoding(client):
    """RFC 9110 12.5.5: Vary names the request fields that chose the answer; one under
    MIN_SIZE is sent as it is whatever Accept-Encoding says (a SCORM commit's answer)."""
    from lms.web.compression import MIN_SIZE

    for accepted in ("", "gzip"):
        answer = client.get("/healthz", headers={"Accept-Encoding": accepted})
        assert answer.status_code == 200 and len(answer.data) < MIN_SIZE
        assert "Content-Encoding" not in answer.headers
        assert "accept-encoding" not in answer.headers.get("Vary", "").lower()


def test_static_files_are_cached_for_a_year_and_sent_compressed(client):
    page = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/hocvu\.css\?v=[0-9a-f]+)"', page).group(1)
    answer = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(answer.data) == (STATIC / "css" / "hocvu.css").read_bytes()
    etag = answer.headers["ETag"]
    assert etag.startswith('W/"')  # another representation of the same file
    again = client.get(css, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and not again.data


def test_small_answers_are_left_alone(client):
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers and small.get_json()


class TestBehindACompressingProxy:
    @pytest.fixture
    def app_config(self):
        return {"HOCVU_COMPRESS": False}

    def test_the_site_can_leave_compression_to_it(self, client):
        packed = client.get("/login", headers={"Accept-Encoding": "gzip"})
        assert "Content-Encoding" not in packed.headers


class TestDevelopmentServer:
    """`hocvu run` (HOCVU_ENV=development) sent static files with no-cache before issue 23:
    a phone on mobile data fetched the style sheet and scripts again on every page."""

    @pytest.fixture
    def app_config(self):
        return {"HOCVU_ENV": "development"}

    def test_versioned_static_files_are_cached_for_a_year_too(self, app, client):
        assert app.debug or app.config["HOCVU_ENV"] == "development"
        page = client.get("/login").get_data(as_text=True)
        for path in re.findall(r'(?:href|src)="(/static/[^"]+\?v=[0-9a-f]+)"', page):
            answer = client.get(path)
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        # Without its version a URL may change content: the browser asks again.
        assert "immutable" not in client.get("/static/css/hocvu.css").headers["Cache-Control"]


def test_vary_names_each_field_once_whatever_adds_it():
    """RFC 9110 12.5.5: Vary is a comma-separated list of field names, compared without case.
    add_vary is the one way the site adds to it (compression, the session cookie)."""
    from flask import Response

    from lms.web.compression import add_vary

    answer = Response("x")
    add_vary(answer, "Accept-Encoding")
    assert answer.headers.getlist("Vary") == ["Accept-Encoding"]
    add_vary(answer, "Cookie")
    add_vary(answer, "cookie")
    add_vary(answer, "ACCEPT-ENCODING")
    assert answer.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
    own = Response("x", headers={"Vary": "Save-Data"})
    add_vary(own, "Accept-Encoding")
    assert own.headers.getlist("Vary") == ["Save-Data, Accept-Encoding"]


def test_a_learners_page_varies_on_encoding_and_cookie_once_each(client, make, login):
    make.learner(make.unit(), username="hv.nen", full_name="Lê Văn Nén")
    make.commit()
    login("hv.nen")
    answer = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    names = [part.strip().lower() for part in answer.headers["Vary"].split(",")]
    assert sorted(names) == sorted(set(names))
    assert {"accept-encoding", "cookie"} <= set(names)
