"""campaign trees

The reporting tree belongs to its campaign: `campaign_unit` keeps each unit's parent, path,
depth, name, city, position and retirement as they stood when the campaign stopped being the
active one, so a rename or a move in a later campaign leaves the earlier one's names, parents
and scopes unchanged. Existing campaigns older than the active one are given today's tree (the
best record there is of how it stood); a campaign not yet active gets its rows when it is
deactivated.

Revision ID: e2c7a95b1d43
Revises: 7c1e5a3f9d20
Create Date: 2026-12-06 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2c7a95b1d43'
down_revision = '7c1e5a3f9d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'campaign_unit',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('path', sa.String(length=255), nullable=False),
        sa.Column('depth', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('city', sa.String(length=20), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_unit_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_campaign_unit_unit_id_unit')),
        sa.PrimaryKeyConstraint('campaign_id', 'unit_id', name=op.f('pk_campaign_unit')),
    )
    op.create_index('ix_campaign_unit_campaign_path', 'campaign_unit', ['campaign_id', 'path'], unique=False)
    # Campaigns that were active before the one active now.
    op.execute("""
        INSERT INTO campaign_unit (campaign_id, unit_id, parent_id, path, depth, name, city, position, retired_at)
        SELECT campaign.id, unit.id, unit.parent_id, unit.path, unit.depth, unit.name, unit.city, unit.position,
               unit.retired_at
        FROM campaign CROSS JOIN unit
        WHERE NOT campaign.is_active
          AND campaign.year < (SELECT max(active.year) FROM campaign AS active WHERE active.is_active)""")


def downgrade():
    op.drop_index('ix_campaign_unit_campaign_path', table_name='campaign_unit')
    op.drop_table('campaign_unit')
