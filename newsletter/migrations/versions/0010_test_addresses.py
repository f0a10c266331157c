"""test_address: the addresses besides the accounts' own that test sends may go to

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'test_address',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('email_key', sa.String(length=320), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['added_by_id'], ['account.id'],
            name=op.f('fk_test_address_added_by_id_account'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_test_address')),
        sa.UniqueConstraint('email_key', name=op.f('uq_test_address_email_key')),
    )


def downgrade():
    op.drop_table('test_address')
