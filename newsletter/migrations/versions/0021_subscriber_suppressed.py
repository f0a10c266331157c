"""subscriber.suppressed: a display flag for the subscribers page's suppressed filter

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

The filter and its exact count tested each person's hash against the suppression list, an
EXISTS of two index probes per suppressed person (about 10,000 at a million people); the flag
and two partial indexes of the flagged people (by id, by address) make them an index walk. The flag is display-only: the
send path keeps asking the suppression list (newsletter/suppression/__init__.py, sync_flags).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# Every person against whose hash a reason stands (lifted_at IS NULL): one UPDATE.
BACKFILL = (
    'UPDATE subscriber SET suppressed = true WHERE key_hash IN ('
    'SELECT e.key_hash FROM suppression_entry e JOIN suppression_entry_reason r'
    ' ON r.entry_id = e.id WHERE r.lifted_at IS NULL)'
)


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('suppressed', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(BACKFILL)
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.create_index(
            'ix_subscriber_suppressed_id',
            ['id'],
            unique=False,
            postgresql_where=sa.text('suppressed'),
            sqlite_where=sa.text('suppressed = 1'),
        )
        batch_op.create_index(
            'ix_subscriber_suppressed_email_key',
            ['email_key'],
            unique=False,
            postgresql_where=sa.text('suppressed'),
            sqlite_where=sa.text('suppressed = 1'),
        )


def downgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriber_suppressed_email_key')
        batch_op.drop_index('ix_subscriber_suppressed_id')
        batch_op.drop_column('suppressed')
