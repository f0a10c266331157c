"""Reference routes for bench/signup.py, registered only when BENCH_ROUTES is on.

`/_bench/constant` is the floor of the web stack (gunicorn, Flask, the after-request headers);
`/_bench/insert` adds one INSERT and commit through the app's own session and pool, the floor
for any request that writes. Sign-up throughput is judged against them.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask

from newsletter.extensions import csrf, db

bp = Blueprint("bench", __name__, url_prefix="/_bench")

# Created by bench/signup.py with raw SQL, outside the product's metadata and migrations.
bench_insert = sa.Table(
    "bench_insert",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
)


@bp.get("/constant")
def constant():
    return "ok\n"


@bp.post("/insert")
@csrf.exempt
def insert():
    db.session.execute(sa.insert(bench_insert).values(payload="x"))
    db.session.commit()
    return "ok\n"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
