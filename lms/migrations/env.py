"""Alembic environment: run Hocvu's migrations on the app's database connection."""

from alembic import context
from flask import current_app

import lms.models  # noqa: F401 - registers every table on the metadata

config = context.config
db = current_app.extensions["migrate"].db


def run_migrations_offline() -> None:
    """Emit SQL for `hocvu db upgrade --sql`."""
    context.configure(
        url=db.engine.url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a connection of the app's engine."""
    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            **current_app.extensions["migrate"].configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
