"""the person's suppression hash indexed with their id

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

The suppressed filter of the subscribers page and the send's count go from the suppression
list's hashes to the people: with the id in the index each is an index-only probe, without a
read of the person's row (at a million people, a heap page per suppressed person).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.create_index('ix_subscriber_key_hash_id', ['key_hash', 'id'], unique=False)
        batch_op.drop_index('ix_subscriber_key_hash')


def downgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.create_index('ix_subscriber_key_hash', ['key_hash'], unique=False)
        batch_op.drop_index('ix_subscriber_key_hash_id')
