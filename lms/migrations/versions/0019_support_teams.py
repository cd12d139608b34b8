"""community digital-technology teams: teams of a unit, their members and batches, support
contacts and extension requests

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:40:00.000000

Union federations ask every grassroots union for a "Tổ công nghệ số cộng đồng" of 3-5
members who help the learners who are stuck (issue 22). A team belongs to a unit; its members
hold the new role "team_member" (role_assignment.role is a VARCHAR without a CHECK
constraint, so the role needs no change there) and record their contacts with learners; they
ask the unit's admins to extend a learner's deadline, who approve or refuse.

"""
from alembic import op
import sqlalchemy as sa

import lms.app.database


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'support_team',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('created_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_support_team_org_unit_id_org_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_team')),
        sa.UniqueConstraint('org_unit_id', 'name', name=op.f('uq_support_team_org_unit_id_name')),
    )
    with op.batch_alter_table('support_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_team_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table(
        'team_member',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['support_team.id'], name=op.f('fk_team_member_team_id_support_team'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_team_member_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_member')),
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_user_id'), ['user_id'], unique=False)

    op.create_table(
        'team_cohort',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_team_cohort_cohort_id_cohort'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['support_team.id'], name=op.f('fk_team_cohort_team_id_support_team'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'cohort_id', name=op.f('pk_team_cohort')),
    )

    op.create_table(
        'support_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.Enum('call', 'visit', 'message', 'in_person', name='contactkind', native_enum=False, length=20), nullable=False),
        sa.Column('outcome', sa.Enum('solved', 'follow_up', 'unreachable', name='contactoutcome', native_enum=False, length=20), nullable=False),
        sa.Column('note', sa.String(length=1000), nullable=False),
        sa.Column('at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['learner_id'], ['user_account.id'], name=op.f('fk_support_contact_learner_id_user_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['user_account.id'], name=op.f('fk_support_contact_member_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['team_id'], ['support_team.id'], name=op.f('fk_support_contact_team_id_support_team'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_contact')),
    )
    with op.batch_alter_table('support_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_contact_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_contact_team_id'), ['team_id'], unique=False)

    op.create_table(
        'extension_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('status', sa.Enum('pending', 'approved', 'refused', name='requeststatus', native_enum=False, length=20), nullable=False),
        sa.Column('created_at', lms.app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', lms.app.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_extension_request_decided_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_extension_request_enrolment_id_enrolment'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_extension_request_requested_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['team_id'], ['support_team.id'], name=op.f('fk_extension_request_team_id_support_team'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_request')),
    )
    with op.batch_alter_table('extension_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extension_request_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_request_team_id'), ['team_id'], unique=False)


def downgrade():
    op.drop_table('extension_request')
    op.drop_table('support_contact')
    op.drop_table('team_cohort')
    op.drop_table('team_member')
    op.drop_table('support_team')
