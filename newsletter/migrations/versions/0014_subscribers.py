"""subscription indexes for the subscribers page's list and status filters in subscriber order

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # A list's people in subscriber order, whatever their status (the page's list filter),
    # and everyone with a status on any list in subscriber order (its status filter).
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(
            'ix_subscription_list_subscriber', ['list_id', 'subscriber_id'], unique=False
        )
        batch_op.create_index(
            'ix_subscription_status_subscriber', ['status', 'subscriber_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_status_subscriber')
        batch_op.drop_index('ix_subscription_list_subscriber')
