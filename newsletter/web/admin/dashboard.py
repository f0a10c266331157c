"""The admin's front page, and the sign-in check every admin page goes through."""

from flask import render_template
from flask_login import current_user

from newsletter.delivery.ledger import latest_issues
from newsletter.extensions import login_manager
from newsletter.lists import lists_with_counts
from newsletter.subscriptions import growth
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.charts import growth_charts, growth_description
from newsletter.webhooks.endpoints import disabled_endpoints


@bp.before_request
def require_login():
    """Send anyone not signed in to the sign-in page, whatever admin page they asked for."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.get("/")
def dashboard():
    weeks = growth.weekly_growth()
    return render_template(
        "admin/dashboard.html",
        by_list=lists_with_counts(),
        weeks=weeks,
        charts=growth_charts(weeks),
        description=growth_description(weeks),
        latest=latest_issues(),
        disabled_webhooks=disabled_endpoints(),
    )
