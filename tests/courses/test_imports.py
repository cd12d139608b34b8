"""GIFT and Moodle XML imports: what is read, and every unsupported feature reported by line."""

from __future__ import annotations

from pathlib import Path

from courses import gift, moodlexml
from courses.questions import dump_bank, read_bank

BANKS = Path(__file__).parent / "fixtures" / "banks"


def _by_id(result):
    return {q.id: q for q in result.questions}


def test_gift_reads_supported_types_with_escapes_and_vietnamese():
    result = gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8"))
    questions = _by_id(result)
    assert set(questions) == {"mk1", "mk2", "mk3", "mk4", "otp1", "otp4"}
    mk1 = questions["mk1"]
    assert (mk1.type, mk1.module, mk1.text) == (
        "single",
        "01-mat-khau",
        "Mật khẩu nào **mạnh** nhất?",
    )
    assert [c.correct for c in mk1.choices] == [True, False, False]
    assert mk1.choices[0].text == "Hạ Long mùa thu 2026"
    assert questions["mk2"].type == "truefalse" and questions["mk2"].answer is False
    mk3 = questions["mk3"]
    assert (
        mk3.type == "multiple"
        and mk3.partial
        and [c.correct for c in mk3.choices]
        == [
            True,
            True,
            False,
        ]
    )
    mk4 = questions["mk4"]
    assert mk4.text == 'Ký hiệu { và } cùng dấu = được dùng thế nào: ví dụ "a=b"?'
    assert mk4.type == "short" and mk4.answers == ("a=b", "a = b")
    otp1 = questions["otp1"]
    assert otp1.type == "matching" and otp1.module == "02-ma-otp"
    assert otp1.pairs[1] == ("2FA", "Xác thực hai bước")
    assert questions["otp4"].text == "Mã OTP chỉ dành cho ai?"


def test_gift_reports_every_unsupported_feature_with_its_line():
    result = gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8"))
    reported = {(p.line, p.message) for p in result.problems}
    assert (28, "Numerical questions are not supported; skipped.") in reported
    assert (30, "Essay questions are not supported; skipped.") in reported
    assert (32, "Missing-word questions (text after the answers) are not supported; skipped.") in (
        reported
    )
    assert (34, "HTML formatting was removed from the question text.") in reported


def test_moodle_xml_reads_supported_types():
    result = moodlexml.parse("an-toan.xml", (BANKS / "an-toan.xml").read_bytes())
    questions = _by_id(result)
    assert set(questions) == {"mk-x1", "mk-x2", "mk-x3", "otp-x1", "otp-x2"}
    x1 = questions["mk-x1"]
    assert x1.text == "Mật khẩu nào mạnh nhất?" and x1.points == 2.0
    assert (
        x1.choices[2].text == "<ngày sinh>" and x1.feedback == "Mật khẩu dài & dễ nhớ là tốt nhất."
    )
    assert questions["mk-x2"].answer is False
    assert questions["mk-x3"].type == "multiple"
    assert questions["otp-x1"].answers == ("OTP",) and questions["otp-x1"].module == "02-ma-otp"
    assert questions["otp-x2"].pairs == (("OTP", "Mã dùng một lần"), ("2FA", "Xác thực hai bước"))


def test_moodle_xml_reports_unsupported_types_and_details_by_line():
    result = moodlexml.parse("an-toan.xml", (BANKS / "an-toan.xml").read_bytes())
    reported = {(p.line, p.message % p.params if p.params else p.message) for p in result.problems}
    assert (48, "Questions of type essay are not supported; skipped.") in reported
    assert (52, "Questions of type numerical are not supported; skipped.") in reported
    assert (34, "Answers worth part of the points were left out.") in reported
    assert (41, "Extra wrong answers of a matching question were left out.") in reported
    assert (7, "HTML formatting was removed from the question text.") in reported


def test_moodle_xml_refuses_entities_and_broken_files():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<quiz><question type='category'><category><text>&x;</text></category></question></quiz>"
    )
    result = moodlexml.parse("x.xml", bomb)
    assert "root:" not in repr(result)
    broken = moodlexml.parse("x.xml", b"<quiz><question>")
    assert broken.problems and broken.problems[0].message.startswith("XML syntax error")


def test_odd_moodle_xml_is_reported_not_crashing():
    """A fraction or a grade that is not a number is reported, and a safe value used."""
    xml = (
        b'<quiz><question type="category"><category><text>01-a</text></category></question>'
        b'<question type="multichoice"><name><text>x</text></name><questiontext><text>?'
        b"</text></questiontext><defaultgrade>nan</defaultgrade><single>true</single>"
        b'<answer fraction="abc"><text>A</text></answer>'
        b'<answer fraction="100"><text>B</text></answer></question></quiz>'
    )
    result = moodlexml.parse("x.xml", xml)
    messages = {p.message for p in result.problems}
    assert "An answer's fraction is not a number; it counts as wrong." in messages
    assert "The grade of this question is not a positive number; 1 point is used." in messages
    assert result.questions[0].points == 1.0


def test_imported_questions_round_trip_through_final_test_toml():
    result = gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8"))
    text = dump_bank(result.questions)
    bank = read_bank("final-test.toml", text, {"01-mat-khau", "02-ma-otp"})
    assert [(q.id, q.type, q.text) for q in bank.questions] == [
        (q.id, q.type, q.text) for q in result.questions
    ]
    assert bank.questions[3].answers == ("a=b", "a = b")
