"""webhooks out: endpoints, the event outbox and deliveries per endpoint

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

DELIVERY_STATUSES = ('pending', 'delivered', 'failed', 'dropped', 'held')


def upgrade():
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('event_types', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'webhook_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_event_subscriber', 'webhook_event', ['subscriber_id'])
    op.create_table(
        'webhook_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column(
            'status',
            sa.Enum(*DELIVERY_STATUSES, name='webhookdeliverystatus', native_enum=False,
                    create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retry_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['webhook_event.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'endpoint_id'),
    )
    op.create_index(
        'ix_webhook_delivery_claim', 'webhook_delivery', ['endpoint_id', 'status', 'event_id'],
    )
    op.create_index(
        'ix_webhook_delivery_order', 'webhook_delivery',
        ['endpoint_id', 'subscriber_id', 'status', 'event_id'],
    )


def downgrade():
    op.drop_index('ix_webhook_delivery_order', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_claim', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index('ix_webhook_event_subscriber', table_name='webhook_event')
    op.drop_table('webhook_event')
    op.drop_table('webhook_endpoint')
