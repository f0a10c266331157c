"""import_job.file_deleted_at: when an upload's stored bytes were deleted

Uploads are kept only until their import finishes, or IMPORT_UPLOAD_RETENTION_HOURS when it
never does; the job keeps the time its file went, so the admin can say the file is gone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('file_deleted_at')
