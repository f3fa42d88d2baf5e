"""upward report: the root's summary to the level above

Issue 15 item 4. The root's 总结报告 is an upward document (上行文, GB/T 9704): its admin enters
the 发文字号 (`unit_report.doc_number`) and the 签发人 (`unit_report.signer`); the campaign file
names its addressee (`campaign.upward_addressee`, e.g. 住房和城乡建设部办公厅). Plain add_column
with an empty default: existing rows stay as they are.

Revision ID: b7d4e1a96c23
Revises: f3a8c2d71e54
Create Date: 2026-12-05 23:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d4e1a96c23'
down_revision = 'f3a8c2d71e54'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('upward_addressee', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('unit_report', sa.Column('doc_number', sa.String(length=40), nullable=False, server_default=''))
    op.add_column('unit_report', sa.Column('signer', sa.String(length=20), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('unit_report', schema=None) as batch_op:
        batch_op.drop_column('signer')
        batch_op.drop_column('doc_number')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('upward_addressee')
