"""a learner's Data Saver choice

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:00:00.000000

user_account.data_saver: true, the lessons show a placeholder instead of each embedded video
until the learner asks for it; false, videos are embedded; null (everyone at first), the
browser's own data saver decides (the Save-Data request header).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user_account', sa.Column('data_saver', sa.Boolean(), nullable=True))


def downgrade():
    # Not a batch copy on SQLite: every table points at user_account, and copying it would
    # drop the table they point at. SQLite drops a plain column in place since 3.35.
    op.drop_column('user_account', 'data_saver')
