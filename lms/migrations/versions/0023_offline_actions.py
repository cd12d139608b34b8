"""offline actions: what a learner's browser queued while offline, recorded once per id

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 22:00:00.000000

A learner reading on a weak connection queues "lesson opened", "self-check answered",
"lesson completed" and "time spent" in the browser (IndexedDB) and sends them when the
connection returns (issue 23). The browser gives each action an id; the server keeps the id
of every action it has handled with its outcome, so that an action sent twice (a lost answer,
two tabs) is handled once and answered the same way the second time.

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'offline_action',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('happened_at', lms.app.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column('received_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('message', sa.String(length=300), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_offline_action_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_action')),
        sa.UniqueConstraint('user_id', 'client_id', name=op.f('uq_offline_action_user_id_client_id')),
    )
    with op.batch_alter_table('offline_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_action_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('offline_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_action_user_id'))
    op.drop_table('offline_action')
