"""board counts index

A covering index for the deadline board: its counts per unit, campaign and state (and
the participants summed with them) read this index alone, never the activity rows
with their long texts. Campaign first, so the board searches this year's and last
year's entries however many campaigns the table holds.

Plain create_index, not batch_alter_table: adding an index never needs SQLite's
table rebuild, which would drop the activity search triggers.

Revision ID: 6aab730ab595
Revises: 58dc9899ac75
Create Date: 2026-11-23 23:49:02.793318

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6aab730ab595'
down_revision = '58dc9899ac75'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_activity_campaign_unit_state', 'activity',
                    ['campaign_id', 'unit_id', 'state', 'participants'], unique=False)


def downgrade():
    op.drop_index('ix_activity_campaign_unit_state', table_name='activity')
