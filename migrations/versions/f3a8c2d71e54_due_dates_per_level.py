"""due dates per level

Issue 15 item 5. A parent sets the report due time of the units below it (a city bureau its
counties'), on or before its own; `unit_due_date` holds one per unit and campaign. A unit
works to the earliest due time set for it or above it, else the campaign's. A new table only:
nothing existing changes.

Revision ID: f3a8c2d71e54
Revises: f3a8c2d91b57
Create Date: 2026-12-05 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a8c2d71e54'
down_revision = 'f3a8c2d91b57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_due_date',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_unit_due_date_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['set_by_id'], ['user.id'], name=op.f('fk_unit_due_date_set_by_id_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_due_date_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_due_date')),
    sa.UniqueConstraint('campaign_id', 'unit_id', name=op.f('uq_unit_due_date_campaign_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('unit_due_date', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_due_date_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('unit_due_date', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_due_date_unit_id'))
    op.drop_table('unit_due_date')
