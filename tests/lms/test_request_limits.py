"""How much of a request body Hocvu reads: per endpoint, on the bytes actually read, decided
before anything reads the body; a body over the limit gets a 413 page or JSON in Vietnamese,
and the error page never reads the body itself.

Status 413 Content Too Large: RFC 9110 section 15.5.14. OWASP ASVS 4.0 V12.1.1: the
application does not accept large files that could fill up storage or cause a denial of
service.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from lms.models import Role, ScoState
from lms.web.player import MAX_COMMIT_BYTES
from tests.conftest import csrf_token
from tests.lms.test_scorm_tracking import _upload, enrolled, package_bytes, runtime, send

KB = 1024
MB = 1024 * 1024
ANONYMOUS_LIMIT = 64 * KB
FORM_LIMIT = 1 * MB
TOO_LARGE_TITLE = "Dữ liệu gửi lên quá lớn"

# Gunicorn marks every request's input as terminated by the server (wsgi.input_terminated), and
# Werkzeug's own server does for chunked bodies: only then are bodies without a length read.
CHUNKED = {"Transfer-Encoding": "chunked"}
SERVER_TERMINATED = {"wsgi.input_terminated": True}


class Counting(io.RawIOBase):
    """A request's input that counts the bytes the application pulls from it."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.pulled = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.pulled += len(data)
        return len(data)


@pytest.fixture
def reads(app) -> list[Counting]:
    """The input of every request the app serves from now on, newest last."""
    inputs: list[Counting] = []
    inner = app.wsgi_app

    def counting(environ, start_response):
        environ["wsgi.input"] = stream = Counting(environ["wsgi.input"])
        inputs.append(stream)
        return inner(environ, start_response)

    app.wsgi_app = counting
    return inputs


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.gioihan", full_name="Trần Thị Hoa")
    make.commit()
    return user


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def _login_form(token: str, size: int) -> bytes:
    return f"csrf_token={token}&username=hv&password={'x' * size}".encode()


def test_a_huge_declared_length_gets_a_413_page_without_the_body_being_read(client, reads):
    # A 10-byte body that claims 600 MB: refused before a byte is read, and the error page
    # (its language switch in the layout) does not try to read it either (it answered 500).
    response = client.post(
        "/login",
        input_stream=io.BytesIO(b"username=a"),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"CONTENT_LENGTH": "600000000"},
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert f"<h1>{TOO_LARGE_TITLE}</h1>" in page
    assert "Dữ liệu gửi lên lớn hơn mức trang này cho phép (tối đa 64 KB)." in page
    assert reads[-1].pulled == 0


def test_an_anonymous_post_of_200_kb_is_refused(client, reads):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data=_login_form(token, 200 * KB),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert TOO_LARGE_TITLE in response.get_data(as_text=True)
    assert reads[-1].pulled == 0
    # The login form itself is far below the limit.
    ok = client.post(
        "/login", data=_login_form(token, 20), content_type="application/x-www-form-urlencoded"
    )
    assert ok.status_code == 401


def test_an_anonymous_chunked_form_is_cut_off_at_the_limit(client, reads):
    # Without a length Werkzeug stops reading at its cap and hands over what it read, so a cut
    # form would be taken as the whole: it must be a 413 instead.
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        input_stream=io.BytesIO(_login_form(token, 200 * KB)),
        content_type="application/x-www-form-urlencoded",
        headers=CHUNKED,
        environ_overrides=SERVER_TERMINATED,
    )
    assert response.status_code == 413
    assert reads[-1].pulled <= ANONYMOUS_LIMIT + 1


def test_a_chunked_body_sent_to_a_real_server_is_cut_off(app, reads):
    # The same through a socket: Werkzeug's server decodes the chunks as the app reads them.
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        body = b"username=a&password=" + b"x" * (300 * KB)
        connection.request(
            "POST",
            "/login",
            body=iter([body]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert TOO_LARGE_TITLE in response.read().decode()
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert reads[-1].pulled <= ANONYMOUS_LIMIT + 1


def test_a_json_request_gets_its_413_as_json(client):
    response = client.post(
        "/login", data=json.dumps({"x": "y" * (100 * KB)}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json() == {
        "error": TOO_LARGE_TITLE,
        "message": "Dữ liệu gửi lên lớn hơn mức trang này cho phép (tối đa 64 KB).",
    }


def _commit_body(rt: dict, size: int) -> bytes:
    data = [["cmi.suspend_data", "x" * size]]
    return json.dumps({"session": rt["session"], "seq": 1, "data": data}).encode()


def _commit(client, rt: dict, body: bytes, chunked: bool = False):
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    if not chunked:
        return client.post(
            rt["commit_url"], data=body, content_type="application/json", headers=headers
        )
    return client.post(
        rt["commit_url"],
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**headers, **CHUNKED},
        environ_overrides=SERVER_TERMINATED,
    )


def test_a_chunked_commit_is_cut_off_at_2_mb(
    client, login, make, session, files_dir, learner, reads
):
    # It was read whole (300 MB in one request grew a worker from 175 to 800 MB).
    version = enrolled(make, session, files_dir, learner)
    login("hv.gioihan")
    rt = runtime(client, version)
    response = _commit(client, rt, _commit_body(rt, 3 * MB), chunked=True)
    assert response.status_code == 413
    assert response.get_json() == {
        "error": 413,
        "message": "Dữ liệu tiến độ quá lớn, không lưu được.",
    }
    assert reads[-1].pulled <= MAX_COMMIT_BYTES + 1
    # The learner's next commit is taken as usual.
    assert send(client, rt, 1, [["cmi.core.lesson_location", "trang-2"]]).status_code == 200


def test_a_commit_declaring_more_than_2_mb_is_refused_unread(
    client, login, make, session, files_dir, learner, reads
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.gioihan")
    rt = runtime(client, version)
    response = _commit(client, rt, _commit_body(rt, 3 * MB))
    assert response.status_code == 413
    assert response.get_json()["message"] == "Dữ liệu tiến độ quá lớn, không lưu được."
    assert reads[-1].pulled == 0


def test_a_commit_larger_than_other_forms_is_still_read(
    client, login, make, session, files_dir, learner
):
    # The commit endpoint declares its own limit (2 MB), above the 1 MB of logged-in forms.
    version = enrolled(make, session, files_dir, learner)
    login("hv.gioihan")
    rt = runtime(client, version)
    body = _commit_body(rt, int(1.5 * MB))
    assert FORM_LIMIT < len(body) < MAX_COMMIT_BYTES
    response = _commit(client, rt, body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["seq"] == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        "{}".encode("utf-16")[:-1],  # cut inside a character
        b"[" * 200_000 + b"]" * 200_000,  # nested deeper than Python's stack (RFC 8259 9)
    ],
    ids=["not-json", "broken-encoding", "nested-too-deep"],
)
def test_a_commit_that_is_not_json_gets_a_400_and_the_next_is_taken(
    client, login, make, session, files_dir, learner, body
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.gioihan")
    rt = runtime(client, version)
    response = _commit(client, rt, body)
    assert response.status_code == 400
    assert response.get_json() == {"error": 400, "message": "Không đọc được dữ liệu tiến độ."}
    assert send(client, rt, 1, [["cmi.core.lesson_location", "trang-2"]]).status_code == 200


def test_a_commit_whose_body_stops_short_of_its_length_gets_a_400(
    client, login, make, session, files_dir, learner
):
    # The browser went away mid-request: what arrived is not the commit, nothing is stored.
    version = enrolled(make, session, files_dir, learner)
    login("hv.gioihan")
    rt = runtime(client, version)
    body = _commit_body(rt, 1000)
    response = client.post(
        rt["commit_url"],
        input_stream=io.BytesIO(body[:500]),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/"), "Content-Length": str(len(body))},
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == "Không đọc được dữ liệu tiến độ."
    session.rollback()
    assert session.scalars(select(ScoState)).one().seq == 0


def test_a_logged_in_form_over_1_mb_is_refused(client, login, learner):
    login("hv.gioihan")
    token = csrf_token(client, "/")
    response = client.post(
        "/language", data={"csrf_token": token, "locale": "vi", "next": "/" + "a" * MB}
    )
    assert response.status_code == 413
    assert "(tối đa 1 MB)" in response.get_data(as_text=True)
    assert client.post("/language", data={"csrf_token": token, "locale": "vi"}).status_code == 302


def test_an_author_uploads_a_package_larger_than_a_form(client, login, author):
    # Incompressible bytes keep the zip over the 1 MB of forms (and far over 64 KB).
    package = package_bytes("probe12", **{"media/noise.bin": os.urandom(int(1.2 * MB))})
    assert len(package) > FORM_LIMIT
    # Not logged in, the upload page is no exception to the small limit.
    token = csrf_token(client, "/login")
    anonymous = client.post(
        "/author/",
        data={"csrf_token": token, "course_id": "0", "file": (io.BytesIO(package), "goi.zip")},
        content_type="multipart/form-data",
    )
    assert anonymous.status_code == 413
    login("tacgia")
    response = _upload(client, package, "goi-lon.zip")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "/author/versions/" in response.location


def test_anyone_may_send_a_certificate_to_check(client):
    # The public verification page takes files of up to 5 MB from visitors without a login.
    token = csrf_token(client, "/verify")
    response = client.post(
        "/verify",
        data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.7\n" + b"0" * MB), "gcn.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert TOO_LARGE_TITLE not in response.get_data(as_text=True)
    too_large = client.post(
        "/verify",
        data={"csrf_token": token, "file": (io.BytesIO(b"0" * (6 * MB)), "gcn.pdf")},
        content_type="multipart/form-data",
    )
    assert too_large.status_code == 413
    assert "(tối đa 5 MB)" in too_large.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"HOCVU_MAX_ANONYMOUS_BODY_BYTES": 2 * KB}])
def test_the_anonymous_limit_is_a_setting(client):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data=_login_form(token, 3 * KB), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert "(tối đa 2 KB)" in response.get_data(as_text=True)
