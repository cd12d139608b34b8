"""the adl.nav.request_valid.* values of each SCORM 2004 registration's stored state

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 21:45:00.000000

Every SCORM 2004 commit answers with the navigation requests valid now, which the SN engine
finds by trying each one on a copy of the state (2-3 ms for a small package, more than all
the rest of a commit). They depend only on the stored state, so they are kept beside it,
written with each change of the state (NULL: not known yet, found and kept by the next
commit), and a commit that changes nothing the engine reads answers with the kept values
(lms/services/tracking/sequencing.py).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scorm_registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nav_valid', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('scorm_registration', schema=None) as batch_op:
        batch_op.drop_column('nav_valid')
