"""confirmation mail per list: subscription.confirmation_sent_at, subscriber.confirmation_mails

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation_mails', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation_sent_at', sa.DateTime(timezone=True), nullable=True))
    # The last mail before this change named every list then pending; lists asked for since
    # stay unnamed, so a new sign-up for them mails again.
    op.execute(
        "UPDATE subscription SET confirmation_sent_at = ("
        "SELECT subscriber.confirmation_sent_at FROM subscriber"
        " WHERE subscriber.id = subscription.subscriber_id"
        " AND subscriber.confirmation_sent_at >= subscription.created_at)"
        " WHERE status = 'pending'"
    )
    op.execute(
        "UPDATE subscriber SET confirmation_mails = 1 WHERE confirmation_sent_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('confirmation_sent_at')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_column('confirmation_mails')
