"""the best result of a SCO's attempts, kept beside the last attempt's

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-14 09:00:00.000000

A SCORM 2004 lesson opened again after it was finished starts a new attempt from nothing, and
its statuses and score were what reports counted: the author's report and an admin's view of
the learner lost the finished lesson while the learner's own page kept it done. The best
completion, success and score of all attempts are now kept (sco_state.best_*). Rows already
stored start from their last attempt; one that was satisfied before (satisfied_at) while its
last attempt is neither completed nor passed is counted completed.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

sco_state = sa.table(
    'sco_state',
    sa.column('completion', sa.String),
    sa.column('success', sa.String),
    sa.column('score_scaled', sa.Float),
    sa.column('satisfied_at', sa.DateTime),
    sa.column('best_completion', sa.String),
    sa.column('best_success', sa.String),
    sa.column('best_score_scaled', sa.Float),
)


def upgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('best_completion', sa.String(length=20), nullable=False,
                      server_default='not attempted')
        )
        batch_op.add_column(
            sa.Column('best_success', sa.String(length=20), nullable=False,
                      server_default='unknown')
        )
        batch_op.add_column(sa.Column('best_score_scaled', sa.Float(), nullable=True))
    connection = op.get_bind()
    connection.execute(
        sco_state.update().values(
            best_completion=sco_state.c.completion,
            best_success=sco_state.c.success,
            best_score_scaled=sco_state.c.score_scaled,
        )
    )
    connection.execute(
        sco_state.update()
        .where(
            sco_state.c.satisfied_at.is_not(None),
            sco_state.c.completion != 'completed',
            sco_state.c.success != 'passed',
        )
        .values(best_completion='completed')
    )


def downgrade():
    with op.batch_alter_table('sco_state', schema=None) as batch_op:
        batch_op.drop_column('best_score_scaled')
        batch_op.drop_column('best_success')
        batch_op.drop_column('best_completion')
