"""late arrivals from the phone's outbox

Issue 14 (outbox). An entry the phone's outbox recorded keeps when it was recorded
(captured_at, UTC, NULL when unknown or implausible); one recorded before the unit's
deadline that reached the server after it is kept as a draft marked arrived_late
(「截止前记录、截止后送达」) for the province to reopen (补报), never dropped.

Plain add_column: SQLite adds the columns in place; existing rows did not arrive late.

Revision ID: 5e1b7c9d2a40
Revises: d1e5a7c0b915
Create Date: 2026-12-05 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1b7c9d2a40'
down_revision = 'd1e5a7c0b915'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('activity', sa.Column('captured_at', sa.DateTime(), nullable=True))
    op.add_column('activity', sa.Column('arrived_late', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('activity') as batch_op:
        batch_op.drop_column('arrived_late')
        batch_op.drop_column('captured_at')
