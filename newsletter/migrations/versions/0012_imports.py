"""import_job.previewing and import_job.dry_run: an upload previewed before it starts, and
dry runs from the admin

An upload is kept with a job that waits (`previewing`) until the admin has seen the preview and
starts it, as an import or as a dry run (`dry_run`), whose counters say what would happen.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previewing', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('dry_run', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('dry_run')
        batch_op.drop_column('previewing')
