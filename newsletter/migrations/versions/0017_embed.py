"""the embeddable sign-up form: allowed origins and thank-you pages, and the snippets' wordings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embed_origins', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(
            sa.Column('embed_thanks_urls', sa.Text(), nullable=False, server_default='')
        )
    # The server defaults only fill the existing row; the models give the value from then on.
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.alter_column('embed_origins', server_default=None)
        batch_op.alter_column('embed_thanks_urls', server_default=None)
    op.create_table(
        'embed_wording',
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['list_id'], ['mailing_list.id'],
            name=op.f('fk_embed_wording_list_id_mailing_list'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['version'], ['consent_wording.version'],
            name=op.f('fk_embed_wording_version_consent_wording'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('version', 'list_id', name=op.f('pk_embed_wording')),
    )


def downgrade():
    op.drop_table('embed_wording')
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.drop_column('embed_thanks_urls')
        batch_op.drop_column('embed_origins')
