"""admin lists: the unit tree's version token, for the unit menus kept by each process, and
the certificates by date of issue

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:00:00.000000

Every admin list page offers the scope's units in a menu (2,000 units in a province). Each
process keeps the menu it built for a scope while `data_version.token` of "units" stays the
same; lms/models/versions.py renews the token in the transaction that changes a unit.
The admin's list of certificates (newest first) reads the index on issued_at instead of sorting
every certificate.

"""

import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "data_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_version")),
    )
    op.bulk_insert(table, [{"name": "units", "token": uuid.uuid4().hex}])
    # The admin's list of certificates shows the newest first.
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_issued_at"), ["issued_at"], unique=False)


def downgrade():
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_issued_at"))
    op.drop_table("data_version")
