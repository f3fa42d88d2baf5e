"""report snapshots and stamped scans

Issue 15 item 4 (reports roll up). A submitted unit report keeps what it said when it was
submitted: `snapshot` (JSON: figures, the listing by unit, the entries printed) and
`snapshot_at`; the parent's page and the PDF of a submitted report read it, so later edits
and acceptances below do not change what the parent received. A reopened report takes a new
snapshot on its next submit. The unit may attach its stamped scan (盖章扫描件, PDF or JPEG):
`scan_*` name the stored file.

Plain add_column: SQLite adds the columns in place; existing reports have no snapshot (they are
shown from the live data, as before) and no scan.

Revision ID: f3a8c2d91b57
Revises: e4b8d2f61c07
Create Date: 2026-12-05 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a8c2d91b57'
down_revision = 'e4b8d2f61c07'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('unit_report', sa.Column('snapshot', sa.JSON(), nullable=True))
    op.add_column('unit_report', sa.Column('snapshot_at', sa.DateTime(), nullable=True))
    op.add_column('unit_report', sa.Column('scan_key', sa.String(length=80), nullable=True))
    op.add_column('unit_report', sa.Column('scan_name', sa.String(length=200), nullable=True))
    op.add_column('unit_report', sa.Column('scan_mimetype', sa.String(length=40), nullable=True))
    op.add_column('unit_report', sa.Column('scan_bytes', sa.Integer(), nullable=True))
    op.add_column('unit_report', sa.Column('scan_uploaded_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('unit_report') as batch_op:
        for name in ('scan_uploaded_at', 'scan_bytes', 'scan_mimetype', 'scan_name', 'scan_key',
                     'snapshot_at', 'snapshot'):
            batch_op.drop_column(name)
