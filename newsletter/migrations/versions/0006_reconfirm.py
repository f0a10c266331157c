"""reconfirmation issues: issue.kind and issue.import_job_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('issue', 'reconfirmation', name='issuekind', native_enum=False, create_constraint=True, length=32), server_default='issue', nullable=False))
        batch_op.add_column(sa.Column('import_job_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_issue_import_job_id'), ['import_job_id'])
        batch_op.create_foreign_key(batch_op.f('fk_issue_import_job_id_import_job'), 'import_job', ['import_job_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issue_import_job_id_import_job'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_issue_import_job_id'), type_='unique')
        batch_op.drop_column('import_job_id')
        # SQLite's batch copy would keep the column's CHECK constraint without the column.
        batch_op.drop_constraint(batch_op.f('ck_issue_issuekind'), type_='check')
        batch_op.drop_column('kind')
