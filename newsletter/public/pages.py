"""Static public pages: the privacy notice and the accessibility statement."""

from flask import render_template

from newsletter.public import bp


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.get("/accessibility")
def accessibility():
    return render_template("public/accessibility.html")
