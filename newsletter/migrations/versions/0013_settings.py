"""organisation_settings: the organisation's identity as set on /admin/settings

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisation_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_name', sa.String(length=200), nullable=False),
        sa.Column('postal_address', sa.String(length=500), nullable=False),
        sa.Column('from_name', sa.String(length=200), nullable=False),
        sa.Column('from_address', sa.String(length=320), nullable=False),
        sa.Column('site_title', sa.String(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_settings')),
    )


def downgrade():
    op.drop_table('organisation_settings')
