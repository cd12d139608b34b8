"""The page layout's fixed parts are kept per process (lms/web/layout.py): every page still
shows its own account, menu, language and token, and the kept text holds nobody's values."""

from __future__ import annotations

import re

import pytest

import lms.web.layout
from lms.models import Role
from tests.conftest import LoggedIn

WHO = re.compile(r'<span class="who" title="([^"]*)">([^<]*)</span>')
USER = re.compile(r'<meta name="hocvu-user" content="([^"]*)">')
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
FORM_TOKENS = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CURRENT = re.compile(r'<a href="([^"]*)" aria-current="page">')


def _nav(page: str) -> str:
    return page[page.index('<nav class="main-nav"') : page.index("</nav>")]


def _menu(page: str) -> list[str]:
    return re.findall(r">([^<>]+)</a>", _nav(page))


@pytest.fixture
def two(app, make):
    unit = make.unit()
    first = make.learner(unit, username="hv.mot", full_name="Trần Thị Một")
    second = make.unit_admin(unit, username="hv.hai", full_name='Lê "Hai" <b>Bá</b>')
    make.commit()
    return first, second


def test_each_page_shows_its_own_account_and_token(app, two):
    first, second = two
    one, other = app.test_client(), app.test_client()
    LoggedIn(one)("hv.mot")
    LoggedIn(other)("hv.hai")
    for _ in range(2):  # the second time from the kept parts
        mine, theirs = one.get("/").get_data(as_text=True), other.get("/").get_data(as_text=True)
        assert WHO.search(mine).groups() == ("hv.mot", "Trần Thị Một")
        assert USER.search(mine)[1] == str(first.id)
        # Written in escaped: a name is text, never markup.
        assert WHO.search(theirs).groups() == ("hv.hai", "Lê &#34;Hai&#34; &lt;b&gt;Bá&lt;/b&gt;")
        assert USER.search(theirs)[1] == str(second.id)
        assert "Trần Thị Một" not in theirs and "hv.mot" not in theirs
        # One token on the page, the session's own: the forms of the layout carry it too.
        token = TOKEN.search(mine)[1]
        assert set(FORM_TOKENS.findall(mine)) == {token}
        assert token not in theirs
    # ... and the session accepts it: the language form of the kept layout works.
    answer = one.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    assert answer.status_code == 302
    assert "My courses" in one.get("/").get_data(as_text=True)


def test_the_menu_follows_the_account_and_the_page(app, two):
    one, other = app.test_client(), app.test_client()
    LoggedIn(one)("hv.mot")
    LoggedIn(other)("hv.hai")
    admin_home = other.get("/").get_data(as_text=True)
    learner_home = one.get("/").get_data(as_text=True)
    admin_page = other.get("/admin/").get_data(as_text=True)
    assert _menu(learner_home) == ["Khóa học của tôi"]
    assert _menu(admin_home) == ["Khóa học của tôi", "Quản trị"]
    assert CURRENT.findall(_nav(admin_home)) == ["/"]
    assert CURRENT.findall(_nav(admin_page)) == ["/admin/"]
    # The login page (nobody signed in): no menu, no account, a token all the same.
    anonymous = app.test_client().get("/login").get_data(as_text=True)
    assert "main-nav" not in anonymous and "hocvu-user" not in anonymous
    assert FORM_TOKENS.search(anonymous)


def test_a_role_given_later_shows_in_the_menu_at_once(app, two, session):
    first, _ = two
    client = app.test_client()
    LoggedIn(client)("hv.mot")
    assert _menu(client.get("/").get_data(as_text=True)) == ["Khóa học của tôi"]
    session.rollback()
    from lms.models import RoleAssignment

    session.add(RoleAssignment(user_id=first.id, role=Role.AUTHOR))
    session.commit()
    assert _menu(client.get("/").get_data(as_text=True)) == ["Khóa học của tôi", "Soạn bài"]


def test_the_layout_is_made_once_per_kind_of_page(app, two, monkeypatch):
    one, other = app.test_client(), app.test_client()
    LoggedIn(one)("hv.mot")
    LoggedIn(other)("hv.hai")
    one.get("/")
    other.get("/")
    made = []
    real = lms.web.layout.SimpleNamespace

    def counting(**values):
        made.append(values)
        return real(**values)

    # A signed-in layout is made with a SimpleNamespace of markers for the account.
    monkeypatch.setattr(lms.web.layout, "SimpleNamespace", counting)
    for _ in range(3):
        assert one.get("/").status_code == 200
        assert other.get("/").status_code == 200
    assert made == []
    monkeypatch.setattr(app, "debug", True)  # debug mode: made for every page
    one.get("/")
    assert len(made) == 1


def test_templates_read_the_environment_s_globals_themselves(app):
    # lms/web/templating.py: no ChainMap copied key by key on each render or import; a global
    # added later is still seen, and a template with globals of its own keeps them apart.
    env = app.jinja_env
    loaded = env.get_template("hocvu/learn/_status.html")
    assert loaded.globals is env.globals
    before = env.from_string("{{ added_later|default('missing') }}")
    env.globals["added_later"] = "seen"
    try:
        assert before.render() == "seen"
        own = env.from_string("{{ own }} {{ added_later }}", globals={"own": "mine"})
        assert own.render() == "mine seen"
        assert "own" not in env.globals
    finally:
        del env.globals["added_later"]


def test_a_kept_macro_is_written_once_per_arguments_and_language(app):
    # lms/web/templating.py: the course page's offline section, kept per process.
    from flask_babel import force_locale

    env = app.jinja_env
    kept_macro = env.globals["kept_macro"]
    name = "hocvu/learn/_offline_download.html"
    macro = env.get_template(name).module.offline_download
    args = ("khoa-hoc", 1_200_000, "1,2 MB", 5_000_000)
    with app.test_request_context("/courses/khoa-hoc"):
        for locale in ("vi", "en"):
            with force_locale(locale):
                first = kept_macro(name, "offline_download", *args)
                assert first == macro(*args)
                assert kept_macro(name, "offline_download", *args) is first
        other = kept_macro(name, "offline_download", "khac", *args[1:])
        assert 'data-course="khac"' in other and 'data-course="khoa-hoc"' in first
