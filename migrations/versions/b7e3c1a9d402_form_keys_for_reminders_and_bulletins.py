"""form keys for reminders and bulletins

A one-time key of the rendered form, unique on the row it creates: a double click (two
identical POSTs) sends one reminder and starts one bulletin, and the second POST finds
the first's row.

Plain add_column and create_index, not batch_alter_table: SQLite adds a nullable column
and an index in place, without rebuilding the table.

Revision ID: b7e3c1a9d402
Revises: c3f9a41e7b20
Create Date: 2026-12-04 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c1a9d402'
down_revision = 'c3f9a41e7b20'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('reminder', 'bulletin'):
        op.add_column(table, sa.Column('form_key', sa.String(length=64), nullable=True))
        op.create_index(op.f(f'ix_{table}_form_key'), table, ['form_key'], unique=True)


def downgrade():
    for table in ('reminder', 'bulletin'):
        op.drop_index(op.f(f'ix_{table}_form_key'), table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('form_key')
