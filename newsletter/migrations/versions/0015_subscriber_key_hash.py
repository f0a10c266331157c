"""subscriber.key_hash: each person's suppression-list hash, so SQL can join them to it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

"""
import secrets

import sqlalchemy as sa
from alembic import op
from flask import current_app

from newsletter.suppression import SUPPRESSION_KEY, hasher


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_PAGE = 5000


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_hash', sa.String(length=64), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.alter_column('key_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('ix_subscriber_key_hash', ['key_hash'], unique=False)


def _backfill(connection):
    """Hash every person's canonical key, keyset-paged, with the suppression list's key."""
    subscriber = sa.table('subscriber', sa.column('id'), sa.column('email_key'), sa.column('key_hash'))
    if connection.scalar(sa.select(sa.func.count()).select_from(subscriber)) == 0:
        return
    hash_key = hasher(_suppression_key(connection))
    postgres = connection.dialect.name == 'postgresql'
    last = 0
    while True:
        page = connection.execute(
            sa.select(subscriber.c.id, subscriber.c.email_key)
            .where(subscriber.c.id > last)
            .order_by(subscriber.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return
        last = page[-1].id
        ids = [row.id for row in page]
        hashes = [hash_key(row.email_key) for row in page]
        if postgres:
            # One statement a page, where executemany would be a round trip a person.
            connection.execute(
                sa.text(
                    'UPDATE subscriber SET key_hash = v.h FROM unnest(CAST(:ids AS bigint[]),'
                    ' CAST(:hashes AS text[])) AS v(id, h) WHERE subscriber.id = v.id'
                ),
                {'ids': ids, 'hashes': hashes},
            )
        else:
            connection.execute(
                sa.update(subscriber)
                .where(subscriber.c.id == sa.bindparam('b_id'))
                .values(key_hash=sa.bindparam('b_hash')),
                [{'b_id': i, 'b_hash': h} for i, h in zip(ids, hashes)],
            )


def _suppression_key(connection) -> bytes:
    """The key the app hashes with (newsletter.suppression.suppression_key), made if none yet."""
    configured = current_app.config.get('SUPPRESSION_KEY')
    if configured:
        return configured.encode()
    setting = sa.table('app_setting', sa.column('key'), sa.column('value'))
    stored = connection.scalar(
        sa.select(setting.c.value).where(setting.c.key == SUPPRESSION_KEY)
    )
    if stored is None:
        stored = secrets.token_urlsafe(48)
        connection.execute(sa.insert(setting).values(key=SUPPRESSION_KEY, value=stored))
    return stored.encode()


def downgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriber_key_hash')
        batch_op.drop_column('key_hash')
