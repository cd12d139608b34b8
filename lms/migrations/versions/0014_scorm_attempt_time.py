"""the time of earlier SCORM 2004 attempts, kept apart from the current attempt's sessions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-13 09:00:00.000000

cmi.total_time is the time of the current attempt (SCORM 2004 RTE 4.2.25): a new attempt
starts at zero. sco_state.session_times now holds the sessions of the current attempt and
sco_state.earlier_seconds the time of the attempts before it, so that total_seconds still
counts all of a learner's time. Existing rows start with none earlier (their total_time is
left as it was).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('earlier_seconds', sa.Float(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.drop_column('earlier_seconds')
