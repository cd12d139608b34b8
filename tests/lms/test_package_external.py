"""Packages that load files from other sites: the content policy blocks them unless an admin
allows their origin (HOCVU_CONTENT_ALLOWED_ORIGINS), and the author is told at import."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms import ConfigError
from lms.app.config import load_config
from lms.models import ScormPackage
from tests.lms.test_scorm_tracking import (
    FIXTURES,
    _upload,
    enrolled,
    package_bytes,
    runtime,
)

CDN = "https://cdn.jsdelivr.net/npm/scorm-again@2/dist/scorm-again.min.js"
PAGE = (FIXTURES / "probe12" / "index.html").read_text(encoding="utf-8")


def _with_cdn_script() -> bytes:
    page = PAGE.replace("<body>", f'<body>\n<script src="{CDN}"></script>', 1)
    assert CDN in page
    return package_bytes("probe12", **{"index.html": page.encode()})


def _line_of_cdn() -> int:
    page = PAGE.replace("<body>", f'<body>\n<script src="{CDN}"></script>', 1)
    return page[: page.index(CDN)].count("\n") + 1


@pytest.fixture
def author(make):
    from lms.models import Role

    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def test_the_author_is_told_which_file_loads_what_from_another_site(client, login, author):
    """CSP Level 3 default-src: the package origin's policy blocks a script from a CDN; the
    version page names the file, the line and the URL, and says what to do."""
    login("tacgia")
    response = _upload(client, _with_cdn_script(), "lua-dao.zip")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.location).get_data(as_text=True)
    notice = re.search(r'<div class="notice".*?</div>', page, re.S)
    assert notice, page
    text = notice[0]
    assert "1 địa chỉ bên ngoài gói sẽ bị chặn" in text
    assert f"<code>index.html:{_line_of_cdn()}</code>" in text
    assert CDN in text and "https://cdn.jsdelivr.net" in text
    assert "quản trị" in text  # ask the site's administrator

    plain = _upload(client, package_bytes("probe2004"), "dich-vu-cong.zip")
    assert 'class="notice"' not in client.get(plain.location).get_data(as_text=True)


class TestAnAllowedOrigin:
    @pytest.fixture
    def app_config(self):
        return {"HOCVU_CONTENT_ALLOWED_ORIGINS": "https://cdn.jsdelivr.net"}

    def test_is_not_warned_about_and_is_in_the_policy_of_package_files(
        self, client, login, author, make, session, app
    ):
        """The policy's default-src lists the allowed origins, for Flask's answer and, through
        X-Accel-Redirect, nginx's (deploy/nginx-hocvu.conf copies the header)."""
        login("tacgia")
        response = _upload(client, _with_cdn_script(), "lua-dao.zip")
        assert 'class="notice"' not in client.get(response.location).get_data(as_text=True)
        client.post("/logout", data={"csrf_token": _token(client)})

        learner = make.learner(make.unit(), username="hv.cdn")
        make.commit()
        version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
        assert session.scalars(select(ScormPackage)).first() is not None
        login("hv.cdn")
        rt = runtime(client, version)
        policy = client.get(rt["launch_url"]).headers["Content-Security-Policy"]
        assert policy.startswith(
            "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob: https://cdn.jsdelivr.net;"
        )


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/")


def test_the_policy_of_package_files_allows_nothing_else_by_default(
    client, login, make, session, app
):
    learner = make.learner(make.unit(), username="hv.cdn")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    login("hv.cdn")
    policy = client.get(runtime(client, version)["launch_url"]).headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:;")


@pytest.mark.parametrize(
    "value",
    [
        '["https://cdn.jsdelivr.net", "https://FONTS.gstatic.com:443/"]',
        "https://cdn.jsdelivr.net, https://fonts.gstatic.com",
    ],
)
def test_allowed_origins_are_read_from_the_environment(tmp_path, value):
    config = load_config(
        tmp_path,
        {"HOCVU_ENV": "testing"},
        environ={"HOCVU_CONTENT_ALLOWED_ORIGINS": value},
    )
    assert config["HOCVU_CONTENT_ALLOWED_ORIGINS"] == [
        "https://cdn.jsdelivr.net",
        "https://fonts.gstatic.com",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https://cdn.example.com/lib",
        "cdn.example.com",
        "'unsafe-hashes'",
        "https://a.example.com; script-src *",
    ],
)
def test_an_allowed_origin_that_is_not_an_origin_is_refused(tmp_path, value):
    """It goes into a policy header: a wildcard, a path or anything else is refused."""
    with pytest.raises(ConfigError, match="HOCVU_CONTENT_ALLOWED_ORIGINS"):
        load_config(
            tmp_path,
            {"HOCVU_ENV": "testing", "HOCVU_CONTENT_ALLOWED_ORIGINS": [value]},
            environ={},
        )
