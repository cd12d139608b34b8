"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lms.app.extensions import db
from lms.models import Activity


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; add a migration: {diff}"


def test_downgrade_to_base_and_upgrade_again(app, databases, backend):
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        connection_tables = set(db.inspect(db.engine).get_table_names())
    assert {"user_account", "org_unit", "role_assignment", "audit_event", "job"} <= (
        connection_tables
    )


def test_lesson_pages_stored_before_ids_were_prefixed_get_them(app, make, session, tmp_path):
    version = make.course(tmp_path / "files")
    page = next(a for a in version.activities if a.kind == "page")
    page_id, self_check = page.id, page.content["self_check"]
    # As the code before migration 0010 stored a page: the author's ids and links as written.
    page.content = {
        "html": '<h2 id="main">Mở đầu</h2>\n<p><a href="#main" rel="noopener noreferrer">Lên</a> '
        '<img src="__hocvu_media__/media/a.png" id="csrf_token"></p>\n'
        '<iframe src="https://www.youtube.com/embed/abc" allow="camera; clipboard-write" '
        'allowfullscreen=""></iframe>',
        "self_check": self_check,
    }
    make.commit()
    with app.app_context():
        downgrade(revision="0009")
        upgrade()
    session.rollback()
    content = session.get(Activity, page_id).content
    assert content["html"] == (
        '<h2 id="hocvu-md-main">Mở đầu</h2>\n<p><a href="#hocvu-md-main" '
        'rel="noopener noreferrer">Lên</a> '
        '<img src="__hocvu_media__/media/a.png" id="hocvu-md-csrf_token"></p>\n'
        '<iframe allowfullscreen="" src="https://www.youtube.com/embed/abc" '
        'allow="fullscreen; picture-in-picture; encrypted-media"></iframe>'
    )
    assert content["self_check"] == self_check
