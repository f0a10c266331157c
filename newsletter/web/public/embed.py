"""The embedded sign-up form's one route: POST /subscribe/embed, from the organisation's own site.

The snippet a list's admin page offers (templates/embed/snippet.html) is a plain form on
another site, posting here with no session and no CSRF token. What stands in for the token is
the site: the browser's `Origin` header (else the `Referer`'s origin) must be one an admin
allowed on /admin/settings. Past that, the post is the sign-up form's: the same fields,
honeypot, limits and answer, and the same `start_signup`, with the snippet's own wording.
"""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request

from newsletter import origins, settings
from newsletter.extensions import csrf
from newsletter.subscriptions.embed import wording_issued
from newsletter.web.forms import show_error
from newsletter.web.public.blueprint import bp
from newsletter.web.public.forms import SubscribeForm
from newsletter.web.public.limits import count_signup, too_many_signups
from newsletter.web.public.list_choices import public_list_choices
from newsletter.web.public.signup import check_email_page, start_signup

OUT_OF_DATE = "The form you used is out of date. Check the newsletter below and select Sign up"


@bp.post("/subscribe/embed")
@csrf.exempt  # the allowed origin stands in for the token; see the module's docstring
def subscribe_embed():
    site = origins.request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    public = public_list_choices()
    slug = request.form.get("lists", "", type=str)
    offered = [ml for ml in public if ml.slug == slug]
    if site is None or site not in current_app.config.get("EMBED_ORIGINS", ()):
        page = render_template(
            "public/embed_refused.html", site=site, only_list=slug if offered else None
        )
        return make_response(page, 403)
    form = SubscribeForm()
    form.lists.choices = [(ml.slug, ml.name) for ml in offered]
    valid = form.validate()
    version = request.form.get("wording", "", type=str)
    if valid and not wording_issued(offered[0].id, version):
        show_error(form.lists, OUT_OF_DATE)
        valid = False
    # Bots fill the honeypot: their attempts count against the network address only.
    address = form.address if valid and not form.website.data else None
    allowance = count_signup(address.key if address else None)
    if not allowance.network:
        return too_many_signups()
    if not valid:
        # Our own sign-up page, with the values sent and what to fix; it posts to /subscribe.
        lists = offered or list(public)
        only_list = slug if offered else None
        page = render_template("public/subscribe.html", form=form, lists=lists, only_list=only_list)
        return page, 400
    # Past the per-address limit, or from a bot, the answer is the same: it tells nothing.
    if address is not None and allowance.address:
        start_signup(address, form.name.data.strip(), offered, version)
    config = current_app.config
    thanks = origins.thanks_target(
        request.form.get("thanks", type=str),
        config.get("EMBED_THANKS_URLS", ()),
        allow_http=settings.allows_http_thanks(config),
    )
    if thanks is not None:
        return redirect(thanks, 303)
    assert form.address is not None  # set by the successful validate() above
    return check_email_page(form.address.email)
