"""the sequencing state of each learner's SCORM 2004 activity

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 20:00:00.000000

The SCORM 2004 player runs the Sequencing and Navigation engine (scorm/sequencing): each
learner's activity keeps the engine's state as JSON, the seed of its random selections, a
version number so that two tabs cannot overwrite each other's navigation, and the activity
delivered last. Packages stored before the engine keep their old description until first
played (lms/services/tracking/sequencing.py describes them again from their stored files).

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scorm_registration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.JSON(), nullable=True),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('delivered', sa.String(length=200), nullable=True),
        sa.Column('created_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', lms.app.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['activity_id'], ['activity.id'], name=op.f('fk_scorm_registration_activity_id_activity')
        ),
        sa.ForeignKeyConstraint(
            ['enrolment_id'],
            ['enrolment.id'],
            name=op.f('fk_scorm_registration_enrolment_id_enrolment'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['package_id'],
            ['scorm_package.id'],
            name=op.f('fk_scorm_registration_package_id_scorm_package'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scorm_registration')),
        sa.UniqueConstraint(
            'enrolment_id',
            'activity_id',
            name=op.f('uq_scorm_registration_enrolment_id_activity_id'),
        ),
    )
    with op.batch_alter_table('scorm_registration', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_scorm_registration_enrolment_id'), ['enrolment_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_scorm_registration_activity_id'), ['activity_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('scorm_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorm_registration_activity_id'))
        batch_op.drop_index(batch_op.f('ix_scorm_registration_enrolment_id'))
    op.drop_table('scorm_registration')
