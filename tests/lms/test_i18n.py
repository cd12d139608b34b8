"""The Vietnamese catalog is complete, WTForms' own messages go through it, and dates and
numbers are formatted the Vietnamese way."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale

from lms.app.i18n import format_date, format_datetime, format_number

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "lms" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def test_vietnamese_catalog_covers_every_message_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(pot),
            "--no-location",
            "lms",
            "courses",
        ],
        cwd=ROOT,
        check=True,
    )
    extracted = {_key(m.id) for m in read_po(pot.open("rb")) if m.id}
    assert len(extracted) > 150, "extraction found too few messages: is babel.cfg right?"
    catalog = read_po(PO.open("rb"), locale="vi")
    translated = {_key(m.id): m for m in catalog if m.id}
    missing = sorted(i for i in extracted if i not in translated)
    assert not missing, f"not in the vi catalog (run make extract-messages): {missing}"
    untranslated = sorted(i for i, m in translated.items() if not all(_strings(m)))
    assert not untranslated, f"untranslated: {untranslated}"
    fuzzy = sorted(i for i, m in translated.items() if m.fuzzy)
    assert not fuzzy, f"fuzzy: {fuzzy}"
    not_nfc = [
        s for m in translated.values() for s in _strings(m) if unicodedata.normalize("NFC", s) != s
    ]
    assert not not_nfc, f"not NFC: {not_nfc}"


def test_the_committed_mo_matches_its_po():
    # An install from a clone or a wheel (no make) uses the committed .mo as it is.
    from babel.messages.mofile import read_mo

    compiled = _messages(read_mo(PO.with_suffix(".mo").open("rb")))
    source = _messages(read_po(PO.open("rb"), locale="vi"))
    assert len(source) > 150
    assert compiled == source, "messages.mo is older than messages.po: run make translations"


def _messages(catalog):
    def plain(value):  # plural forms: a tuple from a .po, a list from a .mo
        return value if isinstance(value, str) else tuple(value)

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def _key(msgid):
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def test_placeholders_survive_translation():
    catalog = read_po(PO.open("rb"), locale="vi")
    pattern = re.compile(r"%\((\w+)\)[sd]")
    for message in catalog:
        if message.id:
            wanted = set(pattern.findall(_key(message.id)))
            for string in _strings(message):
                assert set(pattern.findall(string)) == wanted, message.id


def test_dates_and_numbers_in_vietnamese(app):
    with app.test_request_context(), force_locale("vi"):
        assert format_date(date(2026, 11, 23)) == "ngày 23 tháng 11 năm 2026"
        assert format_date(date(2026, 1, 5), "short") == "05/01/2026"
        # 17:30 UTC on the 23rd is already the 24th in Hanoi.
        assert format_date(datetime(2026, 11, 23, 17, 30, tzinfo=UTC)) == (
            "ngày 24 tháng 11 năm 2026"
        )
        assert format_datetime(datetime(2026, 11, 23, 7, 5, tzinfo=UTC)) == "14:05, 23/11/2026"
        assert format_number(8.5) == "8,5"
        assert format_number(36000) == "36.000"


def test_dates_and_numbers_in_english(app):
    with app.test_request_context(), force_locale("en"):
        assert format_date(date(2026, 11, 23)) == "23 November 2026"
        assert format_number(8.5) == "8.5"
        assert format_number(36000) == "36,000"


def test_validators_speak_vietnamese(client, login, post, make):
    """WTForms ships no Vietnamese: its own messages (lengths, choices of a multiple select)
    come from Hocvu's catalog."""
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    response = post("/admin/units/new", {"code": "X" * 41, "name": "Tên", "kind": "other"})
    assert "Tối đa 40 ký tự." in response.get_data(as_text=True)
    response = post(
        "/admin/users/new",
        {"full_name": "A", "username": "abc", "roles": ["bogus", "learner"]},
    )
    page = response.get_data(as_text=True)
    assert "Lựa chọn không hợp lệ." in page and "not a valid" not in page


def test_pages_switch_language_with_each_request(client, app):
    """The templates' texts are kept per catalog (lms.app.i18n._bound_to): pages in one
    language, then the other, then the first again each read their own; a text with a
    variable, and one with an escaped percent sign, are formatted each time."""
    from flask import render_template_string

    def login_page(locale: str) -> str:
        client.set_cookie("session", "", expires=0)
        with client.session_transaction() as session:
            session["locale"] = locale
        return client.get("/login").get_data(as_text=True)

    for _ in range(2):
        vi, en = login_page("vi"), login_page("en")
        assert "Đăng nhập" in vi and "Log in" not in vi
        assert "Log in" in en and "Đăng nhập" not in en
    template = "{{ _('%(n)s questions are not answered. Answer them, or press Submit again to submit anyway.', n=3) }}|{{ _('<b>%%</b>') }}"  # noqa: E501
    for locale, expected in (("vi", "Còn 3 câu"), ("en", "3 questions"), ("vi", "Còn 3 câu")):
        with app.test_request_context(), force_locale(locale):
            text = render_template_string(template)
        assert text.startswith(expected), text
        # Our own catalog's text is taken as HTML (as Jinja's i18n does), "%%" formatted.
        assert text.endswith("|<b>%</b>"), text
