"""SCORM 2004 shared data buckets (adl.data) of each learner

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-13 10:00:00.000000

A 4th Edition manifest gives a SCO shared data buckets (adlcp:data/adlcp:map); what SCOs store
in them is the learner's, shared by target ID between SCOs (and, global to the system, between
packages) and kept across attempts: one row per learner, scope and target.

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scorm_shared_data',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('target_hash', sa.String(length=64), nullable=False),
        sa.Column('target_id', sa.Text(), nullable=False),
        sa.Column('store', sa.Text(), nullable=True),
        sa.Column('updated_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['user_account.id'],
            name=op.f('fk_scorm_shared_data_user_id_user_account'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scorm_shared_data')),
        sa.UniqueConstraint(
            'user_id',
            'scope',
            'target_hash',
            name=op.f('uq_scorm_shared_data_user_id_scope_target_hash'),
        ),
    )


def downgrade():
    op.drop_table('scorm_shared_data')
