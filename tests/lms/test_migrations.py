"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lms.extensions import db


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
