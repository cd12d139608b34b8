"""GIFT and Moodle XML imports: what is read, and every unsupported feature reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from courses import gift, moodlexml
from courses.banktoml import dump_bank
from courses.errors import BundleError
from courses.importing import assign_lessons, category_path
from courses.questions import read_bank

BANKS = Path(__file__).parent / "fixtures" / "banks"


def _by_id(result):
    return {q.id: q for q in result.questions}


def test_gift_reads_supported_types_with_escapes_and_vietnamese():
    result = gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8"))
    questions = _by_id(result)
    assert set(questions) == {"mk1", "mk2", "mk3", "mk4", "otp1", "otp2", "gift-32", "otp4"}
    mk1 = questions["mk1"]
    assert (mk1.type, mk1.group, mk1.module, mk1.text, mk1.name) == (
        "single",
        "01-mat-khau",
        "",  # the lesson is found by the LMS, which knows the course's lessons
        "Mật khẩu nào **mạnh** nhất?",
        "MK1",
    )
    assert [c.correct for c in mk1.choices] == [True, False, False]
    assert mk1.choices[0].text == "Hạ Long mùa thu 2026"
    assert questions["mk2"].type == "truefalse" and questions["mk2"].answer is False
    mk3 = questions["mk3"]
    assert mk3.type == "multiple" and [c.weight for c in mk3.choices] == [0.5, 0.5, -1.0]
    mk4 = questions["mk4"]
    assert mk4.text == 'Ký hiệu { và } cùng dấu = được dùng thế nào: ví dụ "a=b"?'
    assert mk4.type == "short" and mk4.answers == ("a=b", "a = b")
    otp1 = questions["otp1"]
    assert otp1.type == "matching" and otp1.group == "02-ma-otp"
    assert otp1.pairs[1] == ("2FA", "Xác thực hai bước")
    # Moodle's missing-word format: the gap is shown where the answers were.
    assert questions["gift-32"].text == "Ngân hàng không bao giờ hỏi mã _____ qua điện thoại."
    otp4 = questions["otp4"]
    assert (otp4.format, otp4.text) == ("html", "<p>Mã OTP <b>chỉ</b> dành cho ai?</p>")


def test_gift_reports_what_it_skips_with_the_file_the_question_and_the_line():
    result = gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8"))
    assert [str(p) for p in result.problems] == [
        "an-toan.gift:30 (OTP3): Essay questions cannot be graded automatically; skipped.",
    ]


def test_gift_keeps_the_feedback_of_each_answer():
    """Moodle's GIFT page: `#feedback` after an answer is shown to who chose it; `{FALSE#if
    wrong#if right}` for true/false (question/format/gift/format.php: the first is the
    feedback for the wrong answer). Kept, to be shown in the review."""
    questions = _by_id(gift.parse("an-toan.gift", (BANKS / "an-toan.gift").read_text("utf-8")))
    assert [c.feedback for c in questions["mk1"].choices] == ["Dài và là một câu.", "Quá ngắn.", ""]
    # The answer is false: the feedback for the wrong answer goes with "true".
    assert questions["mk2"].answer_feedback == ("Lộ một mật khẩu là mất tất cả.", "")
    result = gift.parse(
        "f.gift",
        "::S::Viết tắt?{=%100%OTP#Đúng. =%50%OPT#Gần đúng.}\n\n"
        "::N::Năm?{#=1945#Chính xác. =%50%1945:5#Gần. ~Sai.}\n\n"
        "::T::Đúng?{TRUE#Sai rồi.#Giỏi.}\n",
    )
    short, number, truth = (_by_id(result)[k] for k in ("s", "n", "t"))
    assert short.answer_feedback == ("Đúng.", "Gần đúng.")
    assert [n.feedback for n in number.numbers] == ["Chính xác.", "Gần."]
    assert truth.answer_feedback == ("Giỏi.", "Sai rồi.")
    # Only the feedback for any other answer (`~Sai.`) is not shown.
    assert [p.message for p in result.problems] == [
        "%(count)s questions have feedback for any other answer or for right, partly right and "
        "wrong answers, which is not shown here: the general feedback and the chosen answer's "
        "feedback are shown after the test."
    ]


def test_moodle_xml_reads_supported_types():
    result = moodlexml.parse("an-toan.xml", (BANKS / "an-toan.xml").read_bytes())
    questions = _by_id(result)
    assert set(questions) == {"mk-x1", "mk-x2", "mk-x3", "otp-x1", "otp-x2", "otp-x4"}
    x1 = questions["mk-x1"]
    assert x1.text == "<p>Mật khẩu nào <strong>mạnh</strong> nhất?</p>" and x1.points == 2.0
    # The answer's HTML escapes are kept escaped: the learner sees "<ngày sinh>".
    assert x1.choices[2].text == "&lt;ngày sinh&gt;" and x1.format == "html"
    assert x1.feedback == "Mật khẩu dài &amp; dễ nhớ là tốt nhất."
    assert questions["mk-x2"].answer is False
    assert questions["mk-x3"].type == "multiple"
    otp = questions["otp-x1"]
    assert otp.short_answers() == (("OTP", 1.0), ("OPT", 0.5)) and otp.group == "02-ma-otp"
    assert questions["otp-x2"].pairs == (
        ("OTP", "Mã dùng một lần"),
        ("2FA", "Xác thực hai bước"),
        ("", "Mật khẩu tĩnh"),
    )


def test_moodle_xml_reports_unsupported_types_by_name_and_line():
    result = moodlexml.parse("an-toan.xml", (BANKS / "an-toan.xml").read_bytes())
    assert [str(p) for p in result.problems] == [
        "an-toan.xml:48 (OTP-X3): Questions of type essay are not supported; skipped."
    ]


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
    questions, _ = assign_lessons("an-toan.gift", result.questions, {"01-mat-khau", "02-ma-otp"})
    text = dump_bank(questions)
    bank = read_bank("final-test.toml", text, {"01-mat-khau", "02-ma-otp"})
    assert {q.module for q in bank.questions} == {"01-mat-khau", "02-ma-otp"}
    assert [(q.id, q.type, q.text) for q in bank.questions] == [
        (q.id, q.type, q.text) for q in result.questions
    ]
    assert bank.questions[3].answers == ("a=b", "a = b")


def _rules(kind: str):
    if kind == "gift":
        return gift.parse("moodle-rules.gift", (BANKS / "moodle-rules.gift").read_text("utf-8"))
    return moodlexml.parse("moodle-rules.xml", (BANKS / "moodle-rules.xml").read_bytes())


@pytest.mark.parametrize(("kind", "line", "name"), [("gift", 53, "Năm"), ("xml", 71, "Thư rác")])
def test_a_name_used_twice_is_renamed_with_a_warning(kind, line, name):
    """Moodle allows two questions with one name; Hocvu keeps both (issue 21: one duplicate
    refused the whole file) and says which one it renamed."""
    result = _rules(kind)
    renamed = [q for q in result.questions if q.name == f"{name} (2)"]
    assert len(renamed) == 1 and renamed[0].line == line
    assert len({q.id for q in result.questions}) == len(result.questions)
    assert (
        f"moodle-rules.{kind}:{line} ({name}): An earlier question has the same name: this one "
        f"is renamed {name} (2)."
    ) in [str(p) for p in result.problems]


def test_categories_named_after_no_lesson_are_kept_with_a_warning():
    """Issue 21: real banks were refused because their categories are not lesson names. The
    category is kept as the question's group; the author chooses what each one gives."""
    result = _rules("xml")
    questions, problems = assign_lessons("moodle-rules.xml", result.questions, {"01-thu"})
    assert {(q.module, q.group) for q in questions} == {("", "Default for Tin học/Thư điện tử")}
    assert [str(p) for p in problems] == [
        "moodle-rules.xml:8 (Thư rác): The category Default for Tin học/Thư điện tử is not the "
        "name of a lesson: choose on the version's page how many of its 7 questions each "
        "attempt draws."
    ]
    named, problems = assign_lessons("x", result.questions, {"Thư điện tử"})
    assert {q.module for q in named} == {"Thư điện tử"} and problems == []
    assert category_path("$course$/top/A//B/C") == "A/B/C"
    assert category_path("$course$/top/A//B/C").split("/") == ["A", "B", "C"]


def test_text_formats_are_kept_as_moodle_shows_them():
    """Moodle's formats: html and markdown are rendered (through Hocvu's sanitizer),
    plain_text is shown as typed, moodle_auto_format keeps line breaks. Issue 21: HTML was
    shown to learners as raw markup."""
    xml = {q.name: q for q in _rules("xml").questions}
    plain = xml["Địa chỉ thư"]
    assert (plain.format, plain.text) == (
        "plain",
        "Địa chỉ nào đúng dạng? (Viết <b> là chữ thường)",
    )
    assert xml["Giao thức"].text == "<p>Giao thức gửi thư viết tắt là <strong>gì</strong>?</p>"
    assert xml["Dung lượng"].text == "Tệp đính kèm tối đa bao nhiêu MB?<br>\n(làm tròn)"
    html_question = xml["Thư rác"]
    assert 'dir="ltr"' not in html_question.text and "style=" not in html_question.text
    # A choice is inline text, without the paragraph Moodle's editor wraps it in.
    assert html_question.choices[0].text == "Thư báo <b>trúng thưởng</b> đòi mật khẩu"
    gift_rules = {q.name: q for q in _rules("gift").questions}
    assert gift_rules["Markdown"].text == "<p>Chọn <strong>một</strong> đáp án.</p>"


def test_images_become_course_media():
    """Moodle XML: `@@PLUGINFILE@@/name` with the file as a base64 <file> in the question;
    GIFT/HTML: a `data:` image. Both are stored once under media/bank/ and referenced by that
    path; a reference to a file that is not there is reported and removed."""
    for kind, marker in (("xml", b"\x89PNG"), ("gift", b"\x89PNG")):
        result = _rules(kind)
        (path, data), *others = result.media.items()
        assert not others and path.startswith("media/bank/") and path.endswith(".png")
        assert data.startswith(marker)
        assert sum(f'src="{path}"' in q.text for q in result.questions) == 1
        assert not any("data:" in q.text or "@@PLUGINFILE" in q.text for q in result.questions)
    missing = moodlexml.parse(
        "x.xml",
        b'<quiz><question type="truefalse"><name><text>T</text></name><questiontext '
        b'format="html"><text><![CDATA[<p>Xem <img src="@@PLUGINFILE@@/khong-co.png"></p>]]>'
        b'</text></questiontext><answer fraction="100"><text>true</text></answer>'
        b'<answer fraction="0"><text>false</text></answer></question></quiz>',
    )
    assert missing.questions[0].text == "<p>Xem </p>"
    assert [p.params["file"] for p in missing.problems] == ["@@PLUGINFILE@@/khong-co.png"]


def test_a_cloze_question_needs_one_part_per_blank():
    """final-test.toml: a cloze question's blanks {#1}, {#2}... each need their part."""
    bank = (
        '[[questions]]\nid = "c"\nmodule = "01-a"\ntype = "cloze"\n'
        'text = "Thủ đô là {#1}, năm {#2}."\n'
        'parts = [{ kind = "short", answers = ["Hà Nội"] }]\n'
    )
    with pytest.raises(BundleError) as refused:
        read_bank("final-test.toml", bank, {"01-a"})
    assert [p.line for p in refused.value.problems] == [1]
    assert refused.value.problems[0].message.startswith("A cloze question needs parts")
    fixed = bank.replace(
        "parts = [{", 'parts = [{ kind = "numerical", numbers = [{ value = 1010 }] }, {'
    ).replace("{#1}, năm {#2}", "{#2}, năm {#1}")
    question = read_bank("final-test.toml", fixed, {"01-a"}).questions[0]
    assert [p.kind for p in question.parts] == ["numerical", "short"]


def test_moodle_top_category_is_the_file_s_own():
    """`$course$/top` alone (Moodle's top category, first in its exports) names no category:
    the questions keep the file's name as their group instead of an empty one."""
    xml = moodlexml.parse(
        "ngan-hang.xml",
        b'<quiz><question type="category"><category><text>$course$/top</text></category>'
        b'</question><question type="truefalse"><name><text>T</text></name><questiontext>'
        b'<text>?</text></questiontext><answer fraction="100"><text>true</text></answer>'
        b'<answer fraction="0"><text>false</text></answer></question></quiz>',
    )
    text = gift.parse("ngan-hang.gift", "$CATEGORY: $course$/top\n\n::T::Đúng?{T}\n")
    assert [q.group for q in xml.questions + text.questions] == ["ngan-hang", "ngan-hang"]


FEEDBACK_XML = """<quiz>
<question type="multichoice"><name><text>M</text></name>
 <questiontext format="html"><text>Chọn một</text></questiontext><single>true</single>
 <answer fraction="100" format="html"><text>A</text>
  <feedback format="html"><text><![CDATA[<p>Đúng <b>rồi</b>.</p>]]></text></feedback></answer>
 <answer fraction="0" format="html"><text>B</text>
  <feedback format="html"><text>Chưa đúng.</text></feedback></answer>
 <correctfeedback format="html"><text>Giỏi lắm.</text></correctfeedback>
</question>
<question type="truefalse"><name><text>T</text></name>
 <questiontext format="html"><text>Đúng không?</text></questiontext>
 <answer fraction="0"><text>true</text><feedback><text>Không phải.</text></feedback></answer>
 <answer fraction="100"><text>false</text><feedback><text>Đúng vậy.</text></feedback></answer>
</question>
<question type="shortanswer"><name><text>S</text></name>
 <questiontext format="html"><text>Viết tắt?</text></questiontext>
 <answer fraction="100"><text>OTP</text><feedback><text>Chính xác.</text></feedback></answer>
 <answer fraction="50"><text>OPT</text><feedback><text>Sai thứ tự.</text></feedback></answer>
</question>
<question type="numerical"><name><text>N</text></name>
 <questiontext format="html"><text>Năm?</text></questiontext>
 <answer fraction="100"><text>1945</text><tolerance>0</tolerance>
  <feedback><text>Chính xác.</text></feedback></answer>
 <answer fraction="0"><text>*</text><feedback><text>Xem lại bài.</text></feedback></answer>
</question>
</quiz>"""


def test_moodle_xml_keeps_the_feedback_of_each_answer():
    """Moodle XML: each <answer> has its <feedback> (question/format/xml, import_answer),
    kept in the question's format to be shown in the review for the chosen answer. The
    feedback for "any other answer" (`*`) and the combined feedback are not shown: said once."""
    result = moodlexml.parse("f.xml", FEEDBACK_XML.encode())
    choice, truth, short, number = (_by_id(result)[k] for k in ("m", "t", "s", "n"))
    assert choice.format == "html"
    assert [c.feedback for c in choice.choices] == ["Đúng <b>rồi</b>.", "Chưa đúng."]
    assert truth.answer is False and truth.answer_feedback == ("Không phải.", "Đúng vậy.")
    assert short.answer_feedback == ("Chính xác.", "Sai thứ tự.")
    assert [n.feedback for n in number.numbers] == ["Chính xác."]
    assert [(p.message, p.params) for p in result.problems] == [
        (
            "%(count)s questions have feedback for any other answer or for right, partly right "
            "and wrong answers, which is not shown here: the general feedback and the chosen "
            "answer's feedback are shown after the test.",
            {"count": 2},
        )
    ]
