"""Lessons on a weak connection (issue 23): Data Saver skips embedded videos until asked,
images keep their place (width and height), the final test says it needs a connection."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from PIL import Image
from sqlalchemy import select

from lms.models import User, utcnow
from lms.services import learning
from tests.factories import mini_course_files

LESSON = "/courses/an-toan-tren-mang/01-mat-khau"
# The embed code YouTube's "Share > Embed" gives, pasted into the lesson by the author.
EMBED = (
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/abc123" '
    'title="Cách đặt mật khẩu mạnh" frameborder="0" allowfullscreen></iframe>'
)


class _Frames(HTMLParser):
    """Where each iframe of a page is: inside a <template> (inert, not loaded) or live."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.live: list[str] = []
        self.inert: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            src = dict(attrs).get("src", "")
            (self.inert if "template" in self.open else self.live).append(src)
        elif tag == "template":
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag == "template" and self.open:
            self.open.pop()


def _frames(page: str) -> _Frames:
    parser = _Frames()
    parser.feed(page)
    return parser


@pytest.fixture
def video_lesson(make, app):
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    module = module.replace("## Tự kiểm tra", f"{EMBED}\n\n## Tự kiểm tra")
    version = make.course(
        app.config["HOCVU_FILES_DIR"], mini_course_files(**{"modules__01-mat-khau.md": module})
    )
    make.enrol(make.learner(make.unit(), username="hv.video"), version)
    make.commit()
    return version


def test_a_lesson_embeds_its_video_when_data_saver_is_off(client, login, video_lesson):
    login("hv.video")
    answer = client.get(LESSON)
    frames = _frames(answer.get_data(as_text=True))
    assert frames.live == ["https://www.youtube.com/embed/abc123"]
    assert "Xem video" not in answer.get_data(as_text=True)
    # The page's policy lets the player load (it did not before: frame-src was the content
    # origin only, and the browser refused every embedded video).
    assert (
        "https://www.youtube.com"
        in answer.headers["Content-Security-Policy"].split("frame-src")[1].split(";")[0]
    )
    assert "Save-Data" in answer.headers["Vary"]


def test_save_data_header_shows_a_placeholder_instead_of_the_video(client, login, video_lesson):
    """A browser in data-saving mode sends Save-Data: on (https://wicg.github.io/savedata/)."""
    login("hv.video")
    page = client.get(LESSON, headers={"Save-Data": "on"}).get_data(as_text=True)
    frames = _frames(page)
    assert frames.live == []  # nothing is loaded by the browser
    assert frames.inert == ["https://www.youtube.com/embed/abc123"]  # loaded on request
    placeholder = page.split('<figure class="video-skipped" id="video-1">')[1].split("</figure>")[0]
    assert "<strong>Cách đặt mật khẩu mạnh</strong>" in placeholder
    assert "video này (trên YouTube) chưa được tải" in placeholder
    assert 'href="?videos=1#video-1" data-load-video>Xem video</a>' in placeholder
    assert "js/lesson-video.js" in page
    # Without JavaScript the button's link shows the same lesson with its video.
    shown = client.get(f"{LESSON}?videos=1", headers={"Save-Data": "on"}).get_data(as_text=True)
    assert _frames(shown).live == ["https://www.youtube.com/embed/abc123"]


def test_the_learners_own_choice_wins_over_the_browser(client, login, post, video_lesson, session):
    login("hv.video")
    home = client.get("/").get_data(as_text=True)
    assert "Tiết kiệm dữ liệu" in home
    assert '<input checked id="data_saver-0" name="data_saver" type="radio" value="auto">' in home

    answer = post("/data-saver", {"data_saver": "on"}, form_page="/", follow_redirects=True)
    assert "Đã lưu lựa chọn tiết kiệm dữ liệu." in answer.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(User.data_saver).where(User.username == "hv.video")) is True
    assert 'checked id="data_saver-1" name="data_saver" type="radio" value="on"' in answer.text
    page = client.get(LESSON).get_data(as_text=True)  # no Save-Data header
    assert _frames(page).live == [] and "Xem video" in page

    post("/data-saver", {"data_saver": "off"}, form_page="/")
    page = client.get(LESSON, headers={"Save-Data": "on"}).get_data(as_text=True)
    assert _frames(page).live == ["https://www.youtube.com/embed/abc123"]

    post("/data-saver", {"data_saver": "auto"}, form_page="/")
    session.rollback()
    assert session.scalar(select(User.data_saver).where(User.username == "hv.video")) is None
    assert _frames(client.get(LESSON).get_data(as_text=True)).live != []
    assert (
        _frames(client.get(LESSON, headers={"Save-Data": "on"}).get_data(as_text=True)).live == []
    )


def test_a_choice_that_is_not_offered_is_refused(client, login, post, video_lesson, session):
    login("hv.video")
    post("/data-saver", {"data_saver": "maybe"}, form_page="/")
    session.rollback()
    assert session.scalar(select(User.data_saver).where(User.username == "hv.video")) is None


# A course's own video (random bytes: what is checked is what the page says and loads).
VIDEO_BYTES = 2_500_000


@pytest.fixture
def own_video_lesson(make, app):
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    module = module.replace(
        "## Tự kiểm tra", "![Cách đặt mật khẩu](media/huong-dan.mp4)\n\n## Tự kiểm tra"
    )
    files = mini_course_files(
        **{"modules__01-mat-khau.md": module, "media__huong-dan.mp4": os.urandom(VIDEO_BYTES)}
    )
    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    make.enrol(make.learner(make.unit(), username="hv.phim"), version)
    make.commit()
    return version


def test_a_courses_own_video_loads_nothing_before_play(client, login, own_video_lesson):
    login("hv.phim")
    page = client.get(LESSON).get_data(as_text=True)
    source = f"/media/{own_video_lesson.id}/media/huong-dan.mp4"
    assert (
        f'<video controls="" preload="none" data-size="{VIDEO_BYTES}" src="{source}" '
        'title="Cách đặt mật khẩu">' in page
    )
    # The browser's player asks for parts of the file as the learner plays and seeks.
    part = client.get(source, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100
    assert part.mimetype == "video/mp4"


def test_data_saver_names_the_size_of_a_courses_own_video(client, login, own_video_lesson):
    login("hv.phim")
    page = client.get(LESSON, headers={"Save-Data": "on"}).get_data(as_text=True)
    placeholder = page.split('<figure class="video-skipped" id="video-1">')[1].split("</figure>")[0]
    assert "<strong>Cách đặt mật khẩu</strong>" in placeholder
    assert "video chỉ được tải khi bạn bấm xem" in placeholder
    assert ">Xem video (khoảng 2,5 MB)</a>" in placeholder
    before_template = page.split("<template>")[0]
    assert "<video" not in before_template and "<video" in placeholder.split("<template>")[1]
    client.post("/language", data={"locale": "en", "csrf_token": _token(client)})
    english = client.get(LESSON, headers={"Save-Data": "on"}).get_data(as_text=True)
    assert ">Watch the video (about 2.5 MB)</a>" in english


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/")


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#0b5d3b").save(buffer, "PNG")
    return buffer.getvalue()


def test_lesson_images_carry_their_size_and_load_lazily(client, login, make, app):
    """The browser reserves an image's box from its width and height (HTML's "maintain aspect
    ratio" rule), so the text does not jump while a lazy image arrives."""
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    module = module.replace(
        "## Tự kiểm tra", "![Màn hình VNeID](media/vneid.png)\n\n## Tự kiểm tra"
    )
    files = mini_course_files(
        **{"modules__01-mat-khau.md": module, "media__vneid.png": _png(640, 360)}
    )
    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    make.enrol(make.learner(make.unit(), username="hv.anh"), version)
    make.commit()
    login("hv.anh")
    page = client.get(LESSON).get_data(as_text=True)
    assert (
        f'<img alt="Màn hình VNeID" height="360" loading="lazy" '
        f'src="/media/{version.id}/media/vneid.png" width="640">' in page
    )
    assert '<img alt="Biểu tượng ổ khóa" height="64" loading="lazy"' in page  # an SVG
    assert client.get(f"/media/{version.id}/media/vneid.png").status_code == 200


def lessons_done(session, enrolment) -> None:
    """Mark every lesson of the enrolment done, as a learner who read them would have."""
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            questions = step.activity.content.get("self_check", [])
            progress.data = {"self_check": {str(i): [0] for i in range(len(questions))}}
            learning.complete_activity(session, enrolment, step.activity)


def test_the_test_page_says_it_needs_a_connection(client, login, make, app, session):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    lessons_done(session, make.enrol(make.learner(make.unit(), username="hv.thi"), version))
    make.commit()
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/final-test").get_data(as_text=True)
    assert "Bài kiểm tra cuối khóa cần có kết nối mạng" in page
    assert 'data-offline="Bạn đang mất kết nối mạng.' in page
    assert "data-needs-connection" in page and "js/test.js" in page
