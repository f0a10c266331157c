"""Admin pages: mailing lists (everyone may look; admins create and change them)."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter import lists
from newsletter.compose import issues
from newsletter.delivery import welcome
from newsletter.errors import NewsletterError
from newsletter.subscriptions import growth
from newsletter.urls import external_url
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.charts import growth_charts, growth_description
from newsletter.web.admin.forms import EditListForm, NewListForm, TestSendForm
from newsletter.web.admin.snippet import allowed_origins, allowed_thanks_pages, snippet_for
from newsletter.web.forms import show_error


@bp.get("/lists")
def lists_index():
    return render_template("admin/lists.html", lists=lists.lists_with_counts())


GROWTH_WEEKS = 12


@bp.get("/lists/<slug:slug>")
def lists_show(slug: str):
    return list_page(lists.get_list(slug))


def list_page(mailing_list, test_form=None, status: int = 200):
    """The list's page; a welcome test form given (with its errors) replaces the blank one."""
    weeks = growth.weekly_growth(GROWTH_WEEKS, list_id=mailing_list.id)
    thanks_pages = allowed_thanks_pages()
    thanks = _chosen_thanks(thanks_pages)
    message = welcome.welcome_of(mailing_list)
    account = current_user._get_current_object()
    page = render_template(
        "admin/lists_show.html",
        mailing_list=mailing_list,
        counts=lists.list_counts(mailing_list),
        weeks=weeks,
        charts=growth_charts(weeks),
        description=growth_description(weeks, with_bounces=False),
        issues=lists.list_issues(mailing_list),
        issues_shown=lists.LIST_ISSUES_SHOWN,
        signup_url=external_url("public.subscribe", list=mailing_list.slug),
        snippet=snippet_for(mailing_list, thanks) if mailing_list.is_public else None,
        embed_origins=allowed_origins(),
        thanks_pages=thanks_pages,
        thanks=thanks,
        welcome=message,
        welcome_counts=welcome.sent_count(message) if message else None,
        welcome_note=welcome.welcome_window_note(message) if message else "",
        welcome_may_edit=message is not None and issues.may_edit(message, account),
        may_send=issues.may_send(account),
        test_form=test_form or TestSendForm(formdata=None),
    )
    return page, status


def _chosen_thanks(allowed: list[str]) -> str | None:
    """The thank-you page asked for (`?thanks=`) when it is one of those allowed."""
    chosen = request.args.get("thanks", "", type=str)
    return chosen if chosen in allowed else None


@bp.get("/lists/<slug:slug>/sign-up-form.html")
def lists_snippet(slug: str):
    """The list's embeddable sign-up form as a file to download: copying without a script."""
    mailing_list = lists.get_list(slug)
    if not mailing_list.is_public:
        abort(404)
    snippet = snippet_for(mailing_list, _chosen_thanks(allowed_thanks_pages()))
    response = make_response(snippet.html)
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="sign-up-form-{mailing_list.slug}.html"'
    )
    return response


@bp.route("/lists/new", methods=["GET", "POST"])
@admin_required
def lists_new():
    form = NewListForm()
    if form.validate_on_submit():
        try:
            mailing_list = lists.create_list(
                form.slug.data or "",
                name=form.name.data,
                description=form.description.data,
                is_public=form.is_public.data,
                double_opt_in=form.double_opt_in.data,
                list_id_label=form.list_id_label.data or None,
                actor=current_user._get_current_object(),
            )
        except lists.ListNameTaken as error:
            show_error(form.name, str(error))
        except NewsletterError as error:
            show_error(form.slug, str(error))
        else:
            flash(f"Created the list {mailing_list.name}.", "success")
            return redirect(url_for("admin.lists_show", slug=mailing_list.slug))
    status = 422 if form.errors else 200
    return render_template("admin/lists_form.html", form=form, mailing_list=None), status


@bp.route("/lists/<slug:slug>/edit", methods=["GET", "POST"])
@admin_required
def lists_edit(slug: str):
    mailing_list = lists.get_list(slug)
    form = EditListForm(obj=mailing_list)
    if form.validate_on_submit():
        try:
            lists.update_list(
                mailing_list,
                name=form.name.data,
                description=form.description.data,
                is_public=form.is_public.data,
                double_opt_in=form.double_opt_in.data,
                list_id_label=form.list_id_label.data,
                actor=current_user._get_current_object(),
            )
        except lists.ListNameTaken as error:
            show_error(form.name, str(error))
        else:
            flash(f"Saved the list {mailing_list.name}.", "success")
            return redirect(url_for("admin.lists_show", slug=mailing_list.slug))
    status = 422 if form.errors else 200
    page = render_template("admin/lists_form.html", form=form, mailing_list=mailing_list)
    return page, status
