"""Admin: a list's welcome message — write it (the issue editor), turn it on and off.

Its section lives on the list's page (lists.list_page); editing, preview and test send are
the issue pages' own routes, which send a welcome message back to that section.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from newsletter import lists
from newsletter.delivery import welcome
from newsletter.errors import NewsletterError
from newsletter.web.admin.access import send_permission_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ConfirmForm
from newsletter.web.forms import sentence


def _section(slug: str):
    return redirect(url_for("admin.lists_show", slug=slug) + "#welcome")


@bp.post("/lists/<slug:slug>/welcome")
def lists_welcome_create(slug: str):
    """Write the list's welcome message: a draft (off) opened in the issue editor."""
    mailing_list = lists.get_list(slug)
    if not ConfirmForm().validate_on_submit():
        return _section(slug)
    issue = welcome.create_welcome(mailing_list, current_user._get_current_object())
    flash("This is the list's welcome message, not yet on: write it and save.", "success")
    return redirect(url_for("admin.issues_edit", issue_id=issue.id))


def _switch(slug: str, on: bool):
    mailing_list = lists.get_list(slug)
    issue = welcome.welcome_of(mailing_list)
    if issue is None or not ConfirmForm().validate_on_submit():
        return _section(slug)
    actor = current_user._get_current_object()
    try:
        if on:
            welcome.turn_on(issue, actor)
            flash("The welcome message is on: each person confirmed from now on gets it once.",
                  "success")  # fmt: skip
        else:
            cancelled = welcome.turn_off(issue, actor)
            waiting = f" {cancelled} waiting to go will not get it." if cancelled else ""
            flash(f"The welcome message is off.{waiting}", "success")
    except NewsletterError as error:
        flash(sentence(error) + ".", "error")
    return _section(slug)


@bp.post("/lists/<slug:slug>/welcome/on")
@send_permission_required
def lists_welcome_on(slug: str):
    return _switch(slug, on=True)


@bp.post("/lists/<slug:slug>/welcome/off")
@send_permission_required
def lists_welcome_off(slug: str):
    return _switch(slug, on=False)
