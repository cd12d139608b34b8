"""job attempts (queue retries) and certificate editions (no certificate issued twice)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edition', sa.Integer(), server_default='1', nullable=False))
    # Existing certificates: numbered per enrolment in the order they were issued (a reissue
    # always comes after the certificate it replaces).
    op.execute(
        "UPDATE certificate SET edition = (SELECT count(*) FROM certificate AS earlier "
        "WHERE earlier.enrolment_id = certificate.enrolment_id AND earlier.id <= certificate.id)"
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f('uq_certificate_enrolment_id_edition'), ['enrolment_id', 'edition']
        )


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_certificate_enrolment_id_edition'), type_='unique')
        batch_op.drop_column('edition')

    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('attempts')
