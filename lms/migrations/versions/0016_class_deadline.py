"""an in-person class's own deadline

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:45:00.000000

A class may give its learners until a day of its own (training_class.due_on), later than their
usual 10 days; it is applied to them as an extension whose reason names the class.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_class', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('training_class', schema=None) as batch_op:
        batch_op.drop_column('due_on')
