"""held units

A campaign file loaded while another campaign is active keeps its units on the campaign
(`held_units`, [{code, name, city, dept}]) instead of renaming or adding units mid-campaign;
they are applied when the campaign is made active.

Revision ID: c5d2e8a41f63
Revises: e2c7a95b1d43
Create Date: 2026-12-07 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d2e8a41f63'
down_revision = 'e2c7a95b1d43'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.add_column(sa.Column('held_units', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.drop_column('held_units')
