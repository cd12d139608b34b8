"""Error pages: a failed write or an unhandled error gives the site's own page, in the user's
language and without the error's internals."""

from __future__ import annotations

import pytest

from lms.models import Role, RoleAssignment


@pytest.fixture
def admin(make):
    return make.site_admin(username="admin")


def test_conflict_page_is_vietnamese_for_a_logged_in_user(app, client, login, make, admin):
    """A write that breaks a unique index gives the 409 page; the handler rolls back first, so
    that the logged-in user's language can still be read from the failed session."""

    @app.route("/__conflict")
    def conflict():
        from lms.app.extensions import db

        db.session.add(RoleAssignment(user_id=admin.id, role=Role.SITE_ADMIN))
        db.session.flush()  # violates the unique index on unscoped roles
        return "unreachable"

    make.commit()
    login("admin")
    response = client.get("/__conflict")
    assert response.status_code == 409
    assert "Xung đột dữ liệu" in response.get_data(as_text=True)


def test_server_error_page_is_vietnamese_and_rolls_back(app, client, login, make, admin):
    """An unhandled exception gives the 500 page in Vietnamese, naming no exception class."""

    @app.route("/__boom")
    def boom():
        raise RuntimeError("boom")

    make.commit()
    login("admin")
    response = client.get("/__boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Đã xảy ra lỗi" in page and "RuntimeError" not in page
