"""board counts index holds the id

The board's counts per unit and state also take each group's latest entry (max(id)). A
PostgreSQL index holds only its own columns, so that max sent the board to the table's rows:
the root's board of the synthetic nation (300,000 activities under 5,544 units) read every row,
and the planner took the unit-and-time index for it. The index now carries the id (INCLUDE), and
the board reads it alone: that board 556 -> 285 ms, a province's 31 -> 22 ms.

SQLite's indexes always end with the rowid, which is the id, so nothing changes there but the
rebuild. Plain create_index, not batch_alter_table (see 6aab730ab595).

Revision ID: c8d2f4a6e1b3
Revises: b6e1c4d8a2f0
Create Date: 2026-12-07 23:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c8d2f4a6e1b3'
down_revision = 'b6e1c4d8a2f0'
branch_labels = None
depends_on = None

COLUMNS = ['campaign_id', 'unit_id', 'state', 'participants']


def upgrade():
    op.drop_index('ix_activity_campaign_unit_state', table_name='activity')
    op.create_index('ix_activity_campaign_unit_state', 'activity', COLUMNS, unique=False,
                    postgresql_include=['id'])


def downgrade():
    op.drop_index('ix_activity_campaign_unit_state', table_name='activity')
    op.create_index('ix_activity_campaign_unit_state', 'activity', COLUMNS, unique=False)
