"""the organisation profile that certificates print, a unit's own issuing organisation, and
room for a prefix before certificate numbers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 09:00:00.000000

Certificates printed the HOCVU_CERT_* settings, so the issuer was whatever the server's
operator wrote (by default "Hocvu"). A site admin now sets them in the browser: one row of
organisation_profile (the seal image is a file under HOCVU_FILES_DIR, the row keeps its key).
A unit may print its own name as the issuer (org_unit.certificate_issuer). Serial numbers may
start with the site's prefix ("QN-7K3Q-M9PX-T2VD"), so certificate.serial grows to 40.

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisation_profile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation', sa.String(length=200), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=False),
        sa.Column('signer_title', sa.String(length=120), nullable=False),
        sa.Column('signer_name', sa.String(length=120), nullable=False),
        sa.Column('seal_path', sa.String(length=300), nullable=True),
        sa.Column('serial_prefix', sa.String(length=12), nullable=False),
        sa.Column('updated_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_profile')),
    )
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_issuer', sa.String(length=200), nullable=True))
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column(
            'serial',
            existing_type=sa.String(length=20),
            type_=sa.String(length=40),
            existing_nullable=False,
        )


def downgrade():
    # Numbers with a prefix longer than the old column cannot go back: the ALTER fails on
    # PostgreSQL (SQLite does not check lengths) rather than cut a certificate's number.
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column(
            'serial',
            existing_type=sa.String(length=40),
            type_=sa.String(length=20),
            existing_nullable=False,
        )
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('certificate_issuer')
    op.drop_table('organisation_profile')
