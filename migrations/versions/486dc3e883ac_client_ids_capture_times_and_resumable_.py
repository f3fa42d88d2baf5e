"""client ids, capture times and resumable uploads

Issue 14 (field capture). An activity and a photo carry the id the phone gave them (a UUID,
unique per author or uploader, so a repeated request finds the row it made) and the hash of
what was sent; a photo keeps the SHA-256 of its original bytes (the same picture twice on one
activity is refused), its capture time (EXIF DateTimeOriginal, NULL when unknown) and the
time it arrived; photo_upload holds photos sent in pieces (qmonth/photos/resumable.py).

Plain add_column and create_index: SQLite adds nullable columns and indexes in place,
without rebuilding the tables. Existing photos arrived when their rows were made.

Revision ID: 486dc3e883ac
Revises: a9c4e2f7b316
Create Date: 2026-12-05 08:10:36.619432

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '486dc3e883ac'
down_revision = 'a9c4e2f7b316'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photo_upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=True),
        sa.Column('staging_key', sa.String(length=64), nullable=True),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=True),
        sa.Column('photo_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_photo_upload_activity_id_activity'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_photo_upload_photo_id_photo'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_photo_upload_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_upload')),
        sa.UniqueConstraint('token', name=op.f('uq_photo_upload_token')),
        sa.UniqueConstraint('user_id', 'client_id', name='uq_photo_upload_user_client_id'),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_photo_upload_expires_at'), 'photo_upload', ['expires_at'], unique=False)
    op.create_index(op.f('ix_photo_upload_user_id'), 'photo_upload', ['user_id'], unique=False)

    op.add_column('activity', sa.Column('client_id', sa.String(length=36), nullable=True))
    op.add_column('activity', sa.Column('client_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_activity_author_client_id', 'activity', ['author_id', 'client_id'], unique=True)

    op.add_column('photo', sa.Column('client_id', sa.String(length=36), nullable=True))
    op.add_column('photo', sa.Column('original_sha256', sa.String(length=64), nullable=True))
    op.add_column('photo', sa.Column('taken_at', sa.DateTime(), nullable=True))
    op.add_column('photo', sa.Column('received_at', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_photo_original_sha256'), 'photo', ['original_sha256'], unique=False)
    op.create_index('ix_photo_uploader_client_id', 'photo', ['uploaded_by_id', 'client_id'], unique=True)
    op.execute("UPDATE photo SET received_at = created_at")


def downgrade():
    op.drop_index('ix_photo_uploader_client_id', table_name='photo')
    op.drop_index(op.f('ix_photo_original_sha256'), table_name='photo')
    with op.batch_alter_table('photo') as batch_op:
        for column in ('received_at', 'taken_at', 'original_sha256', 'client_id'):
            batch_op.drop_column(column)
    op.drop_index('ix_activity_author_client_id', table_name='activity')
    with op.batch_alter_table('activity') as batch_op:
        batch_op.drop_column('client_hash')
        batch_op.drop_column('client_id')
    op.drop_index(op.f('ix_photo_upload_user_id'), table_name='photo_upload')
    op.drop_index(op.f('ix_photo_upload_expires_at'), table_name='photo_upload')
    op.drop_table('photo_upload')
