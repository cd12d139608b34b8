"""The countdown in the browser, and an admin's extension unlocking an overdue learner."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from lms.services import clock


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_overdue_learner_is_unlocked_by_an_extension(page, browser, live_server, make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Bệnh viện Cẩm Phả")
    make.unit_admin(unit, username="qt.cp")
    learner = make.learner(
        unit,
        username="hv.tre",
        full_name="Phạm Văn Trễ",
        issued_at=clock.today() - timedelta(days=11),
    )
    make.enrol(learner, version)
    make.commit()

    _log_in(page, "hv.tre")
    expect(page.get_by_text("Đã quá hạn").first).to_be_visible()

    admin = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    apage = admin.new_page()
    _log_in(apage, "qt.cp")
    apage.goto("/admin/users?status=overdue")
    apage.get_by_role("link", name="Phạm Văn Trễ").click()
    apage.get_by_role("link", name="Gia hạn (Khóa học thử: An toàn trên mạng)").click()
    apage.get_by_label("Gia hạn thêm (số ngày)").fill("4")
    apage.get_by_label("Lý do").fill("Ốm, có giấy ra viện")
    apage.get_by_role("button", name="Gia hạn").click()
    expect(apage.get_by_text("Đã gia hạn cho 1 học viên.")).to_be_visible()
    expect(apage.get_by_text("Ốm, có giấy ra viện")).to_be_visible()
    admin.close()

    page.reload()
    # Four days counted from today, today not counted (as the issue day is not).
    expect(page.get_by_text("Còn 4 ngày")).to_be_visible()
    expect(page.get_by_text("đã được gia hạn đến hết")).to_be_visible()
    page.get_by_role("button", name="Đã xem").click()
    expect(page.get_by_text("đã được gia hạn đến hết")).to_have_count(0)
    assert page.console_errors == []


def _long_date(day) -> str:
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def test_the_extension_form_says_the_new_deadline_as_the_admin_types(page, make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Bệnh viện Cẩm Phả")
    make.unit_admin(unit, username="qt.cp")
    learner = make.learner(unit, full_name="Phạm Văn Trễ", issued_at=clock.today() - timedelta(11))
    enrolment = make.enrol(learner, version)
    make.commit()
    today = clock.today()

    _log_in(page, "qt.cp")
    page.goto(f"/admin/extend?enrolment={enrolment.id}")
    days = page.get_by_label("Gia hạn thêm (số ngày)")
    sentence = page.locator("#extend-result")
    expect(sentence).to_have_attribute("aria-live", "polite")
    expect(page.get_by_text("vì học viên đã quá hạn")).to_be_visible()
    days.press_sequentially("3")
    expect(sentence).to_have_text(
        f"Hạn mới: 24:00 {_long_date(today + timedelta(days=3))} (còn 3 ngày)."
    )
    days.press("Backspace")
    days.press_sequentially("12")
    expect(sentence).to_have_text(
        f"Hạn mới: 24:00 {_long_date(today + timedelta(days=12))} (còn 12 ngày)."
    )
    days.fill("400")
    expect(sentence).to_have_text("Chỉ gia hạn từ 1 đến 365 ngày.")
    # The field names the sentence, so a screen reader reads it with the field.
    described = days.get_attribute("aria-describedby").split()
    assert "extend-result" in described and "extend-rule" in described
    assert page.console_errors == []
