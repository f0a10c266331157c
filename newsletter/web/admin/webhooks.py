"""Admin pages: webhook endpoints, their deliveries, resend, disable, enable and replay."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from newsletter.errors import NotFoundError, ValidationError
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ConfirmForm, WebhookEndpointForm
from newsletter.web.forms import show_error
from newsletter.webhooks import endpoints
from newsletter.webhooks.events import DESCRIPTIONS, EventType


def _actor():
    return current_user._get_current_object()


def _endpoint_or_404(endpoint_id: int):
    try:
        return endpoints.get_endpoint(endpoint_id)
    except NotFoundError:
        abort(404)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.get("/webhooks")
@admin_required
def webhooks_index():
    return render_template(
        "admin/webhooks.html", endpoints=endpoints.list_endpoints(), descriptions=DESCRIPTIONS
    )


@bp.route("/webhooks/new", methods=["GET", "POST"])
@admin_required
def webhooks_new():
    form = WebhookEndpointForm()
    if form.validate_on_submit():
        try:
            url = endpoints.check_url(form.url.data or "")
        except ValidationError as error:
            show_error(form.url, str(error))
        else:
            try:
                made = endpoints.create(
                    url, form.events.data or [], form.description.data or "", _actor()
                )
            except ValidationError as error:
                show_error(form.events, str(error))
            else:
                # The secret is shown once, on this answer to the POST (a no-store page).
                return render_template("admin/webhooks_secret.html", made=made)
    status = 422 if form.errors else 200
    page = render_template(
        "admin/webhooks_new.html", form=form, event_types=list(EventType), descriptions=DESCRIPTIONS
    )
    return page, status


@bp.get("/webhooks/<int:endpoint_id>")
@admin_required
def webhooks_show(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    return render_template(
        "admin/webhooks_show.html",
        endpoint=endpoint,
        deliveries=endpoints.recent_deliveries(endpoint.id),
        held=endpoints.held_count(endpoint.id),
        descriptions=DESCRIPTIONS,
    )


@bp.post("/webhooks/<int:endpoint_id>/disable")
@admin_required
def webhooks_disable(endpoint_id: int):
    _confirmed()
    _endpoint_or_404(endpoint_id)
    endpoints.disable(endpoint_id, _actor())
    flash("The endpoint is disabled: events are kept for it, and nothing is sent.", "success")
    return redirect(url_for("admin.webhooks_show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/enable")
@admin_required
def webhooks_enable(endpoint_id: int):
    _confirmed()
    _endpoint_or_404(endpoint_id)
    held = endpoints.enable(endpoint_id, _actor())
    message = "The endpoint is enabled: new events are sent to it."
    if held:
        message += f" {held:,} earlier events are held: replay or discard them below."
    flash(message, "success")
    return redirect(url_for("admin.webhooks_show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/replay")
@admin_required
def webhooks_replay(endpoint_id: int):
    _confirmed()
    _endpoint_or_404(endpoint_id)
    count = endpoints.replay(endpoint_id, _actor())
    flash(f"{count:,} held events will be sent, oldest first.", "success")
    return redirect(url_for("admin.webhooks_show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/discard")
@admin_required
def webhooks_discard(endpoint_id: int):
    _confirmed()
    _endpoint_or_404(endpoint_id)
    count = endpoints.discard_backlog(endpoint_id, _actor())
    flash(f"{count:,} held events were discarded.", "success")
    return redirect(url_for("admin.webhooks_show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@admin_required
def webhooks_resend(endpoint_id: int, delivery_id: int):
    _confirmed()
    try:
        endpoints.resend(endpoint_id, delivery_id, _actor())
    except NotFoundError:
        abort(404)
    except ValidationError as error:
        flash(str(error), "error")
    else:
        flash("The event will be sent again.", "success")
    return redirect(url_for("admin.webhooks_show", endpoint_id=endpoint_id))
