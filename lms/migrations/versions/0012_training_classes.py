"""in-person classes: classes of a course held by a unit, their sessions, trainers, rosters
and attendance

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:10:00.000000

Blended campaigns run classes beside the online course (3 days, 100 learners). A class
belongs to a course and a unit; trainers (the new role "trainer", named per class) take
attendance per session, on the roster or by the learners' own check-in with the session's
code. The role column is a VARCHAR without a CHECK constraint, so the new role needs no
change to role_assignment.

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'training_class',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=True),
        sa.Column('min_attendance', sa.Integer(), nullable=False),
        sa.Column('created_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_training_class_course_id_course')),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_training_class_org_unit_id_org_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_class')),
        sa.UniqueConstraint('org_unit_id', 'name', name=op.f('uq_training_class_org_unit_id_name')),
    )
    with op.batch_alter_table('training_class', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_class_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_class_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table(
        'class_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_class_session_class_id_training_class'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_class_session')),
    )
    with op.batch_alter_table('class_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_session_class_id'), ['class_id'], unique=False)

    op.create_table(
        'class_trainer',
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_class_trainer_class_id_training_class'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_class_trainer_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('class_id', 'user_id', name=op.f('pk_class_trainer')),
    )

    op.create_table(
        'class_member',
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('added_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_class_member_class_id_training_class'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_class_member_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('class_id', 'user_id', name=op.f('pk_class_member')),
    )
    with op.batch_alter_table('class_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_member_user_id'), ['user_id'], unique=False)

    op.create_table(
        'attendance',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('present', 'late', 'absent', 'excused', name='attendancestatus', native_enum=False, length=20), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('marked_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('marked_by_id', sa.Integer(), nullable=True),
        sa.Column('received_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['marked_by_id'], ['user_account.id'], name=op.f('fk_attendance_marked_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['session_id'], ['class_session.id'], name=op.f('fk_attendance_session_id_class_session'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_attendance_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_attendance')),
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('attendance')
    op.drop_table('class_member')
    op.drop_table('class_trainer')
    op.drop_table('class_session')
    op.drop_table('training_class')
