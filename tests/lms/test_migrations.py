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


def _scorm_state(make, session, files_dir, data: bytes):
    from lms.app.storage import LocalStorage
    from lms.models import ScoState
    from lms.services import catalog

    version = catalog.scorm_course(session, None, data, LocalStorage(files_dir))
    catalog.publish(session, None, version)
    enrolment = make.enrol(make.learner(make.unit()), version)
    activity = version.activities[0]
    state = ScoState(
        enrolment=enrolment,
        activity=activity,
        package_id=activity.content["package_id"],
        sco=activity.content["scos"][0],
    )
    session.add(state)
    session.flush()
    return state


def test_a_finished_lesson_already_opened_again_counts_completed_after_0017(app, make, session):
    """A state satisfied before whose last attempt is neither completed nor passed (a lesson
    finished, then opened again) keeps its completion in every report."""
    from datetime import UTC, datetime

    from lms.models import ScoState
    from tests.lms.test_scorm_tracking import package_bytes

    state = _scorm_state(make, session, app.config["HOCVU_FILES_DIR"], package_bytes("probe2004"))
    state.completion, state.success, state.score_scaled = "incomplete", "unknown", 0.4
    state.satisfied_at = datetime(2026, 12, 1, tzinfo=UTC)
    state_id = state.id
    make.commit()
    with app.app_context():
        downgrade(revision="0016")
        upgrade()
    session.rollback()
    kept = session.get(ScoState, state_id)
    assert (kept.result_completion, kept.result_success, kept.result_score) == (
        "completed",
        "unknown",
        0.4,
    )


def test_packages_stored_before_get_their_delivery_controls_and_addresses_in_0018(
    app, make, session
):
    """From the package's stored files: deliveryControls (SN UP.4) and the URLs of other
    sites it loads."""
    from lms.models import ScormPackage
    from tests.lms.test_scorm_tracking import FIXTURES, package_bytes

    manifest = (FIXTURES / "probe2004" / "imsmanifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace(
        "<title>Phần 1: Tài khoản</title>",
        "<title>Phần 1: Tài khoản</title><imsss:sequencing><imsss:deliveryControls"
        ' completionSetByContent="true"/></imsss:sequencing>',
    )
    page = (FIXTURES / "probe2004" / "part.html").read_text(encoding="utf-8")
    page = page.replace("<body>", '<body><script src="https://cdn.example.com/a.js"></script>')
    data = package_bytes(
        "probe2004", **{"imsmanifest.xml": manifest.encode(), "part.html": page.encode()}
    )
    state = _scorm_state(make, session, app.config["HOCVU_FILES_DIR"], data)
    package = session.get(ScormPackage, state.package_id)
    stored = package.manifest
    before = {
        **stored,
        "scos": [{k: v for k, v in s.items() if k != "delivery"} for s in stored["scos"]],
    }
    del before["external"]
    package.manifest = before
    make.commit()
    with app.app_context():
        downgrade(revision="0017")
        upgrade()
    session.rollback()
    assert session.get(ScormPackage, package.id).manifest == stored
    assert stored["scos"][0]["delivery"]["completion_set_by_content"] is True
    assert stored["external"] == [["part.html", 4, "https://cdn.example.com/a.js"]]
