"""/healthz for operators and load balancers."""

from newsletter.public import bp


@bp.get("/healthz")
def healthz():
    return {"database": "ok", "broker": "ok"}
