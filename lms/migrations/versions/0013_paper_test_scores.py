"""final-test attempts taken on paper in an in-person class

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:30:00.000000

A learner of an in-person class may take the final test on paper; a trainer or an admin enters
the score with the reason, and it counts as an attempt (test_attempt.source = 'paper', with who
entered it and why). Existing attempts are online ones.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('test_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='online', nullable=False))
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_test_attempt_entered_by_id_user_account'),
            'user_account',
            ['entered_by_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('test_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_test_attempt_entered_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('note')
        batch_op.drop_column('entered_by_id')
        batch_op.drop_column('source')
