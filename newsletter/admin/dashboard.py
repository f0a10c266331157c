"""The admin's front page."""

from flask import render_template

from newsletter.admin import bp


@bp.get("/")
def dashboard():
    return render_template("admin/dashboard.html")
