"""The admin's front page, and the sign-in check every admin page goes through."""

from flask import render_template
from flask_login import current_user

from newsletter.delivery.ledger import latest_issues
from newsletter.extensions import login_manager
from newsletter.lists import all_lists
from newsletter.subscriptions import audience
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.charts import growth_chart


@bp.before_request
def require_login():
    """Send anyone not signed in to the sign-in page, whatever admin page they asked for."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.get("/")
def dashboard():
    weeks = audience.weekly_growth()
    return render_template(
        "admin/dashboard.html",
        lists=all_lists(),
        by_list=audience.subscribers_by_list_and_status(),
        weeks=weeks,
        chart=growth_chart(weeks),
        latest=latest_issues(),
    )
