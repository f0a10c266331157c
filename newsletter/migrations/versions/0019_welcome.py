"""welcome messages: issue kind `welcome`, its list and window; the import's welcome option

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('issue', 'reconfirmation')"
NEW_KINDS = "kind IN ('issue', 'reconfirmation', 'welcome')"


def upgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        # The enum's CHECK constraint, rewritten with the new kind (the column is a VARCHAR).
        batch_op.drop_constraint(batch_op.f('ck_issue_issuekind'), type_='check')
        batch_op.create_check_constraint('issuekind', sa.text(NEW_KINDS))
        batch_op.add_column(sa.Column('welcome_list_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('welcome_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('welcome_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_issue_welcome_list_id'), ['welcome_list_id'])
        batch_op.create_foreign_key(batch_op.f('fk_issue_welcome_list_id_mailing_list'), 'mailing_list', ['welcome_list_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_welcome', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('welcome_queued_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('welcome_queued_at')
        batch_op.drop_column('send_welcome')
    op.execute("DELETE FROM issue WHERE kind = 'welcome'")
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issue_welcome_list_id_mailing_list'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_issue_welcome_list_id'), type_='unique')
        batch_op.drop_column('welcome_checked_at')
        batch_op.drop_column('welcome_since')
        batch_op.drop_column('welcome_list_id')
        batch_op.drop_constraint(batch_op.f('ck_issue_issuekind'), type_='check')
        batch_op.create_check_constraint('issuekind', sa.text(OLD_KINDS))
