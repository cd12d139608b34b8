"""the digest of a SCO's last commit that the data model took whole

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 01:20:00.000000

A SCO commits its whole state every time, and most commits of a lesson send again what the
last one sent. Checking every value against the data model's rules again cost about a tenth
of a commit's CPU; the digest of a commit whose every value was taken (with the package, the
SCO, the learner's launch values and the rules' version) lets the same commit again skip the
check (lms/services/tracking/commits.py). NULL: none yet, or a value was refused.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_digest', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.drop_column('data_digest')
