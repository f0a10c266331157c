"""issue.sent_by_id: the account that sent or scheduled the issue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_issue_sent_by_id_account'), 'account', ['sent_by_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issue_sent_by_id_account'), type_='foreignkey')
        batch_op.drop_column('sent_by_id')
