"""job table

Issue 16 (jobs on a queue). One row per background job (a PDF, the ZIP of all reports), keyed
for idempotency; its state, progress, attempts and lease live here so that every web node
sees them, whichever engine (a thread of the web process, or RQ workers) runs the job.

Revision ID: a03b94ba527d
Revises: 5e1b7c9d2a40
Create Date: 2026-12-05 14:09:54.483347

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a03b94ba527d'
down_revision = '5e1b7c9d2a40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='jobstate', native_enum=False, length=10), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('result_key', sa.String(length=200), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_job_requested_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    sa.UniqueConstraint('key', name=op.f('uq_job_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_state'))

    op.drop_table('job')
