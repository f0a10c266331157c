"""The sign-up form."""

from __future__ import annotations

from flask import current_app, render_template, request, session
from markupsafe import escape

from newsletter.addresses import Address
from newsletter.background import enqueue
from newsletter.consent import Origin, wording_version
from newsletter.delivery.control import can_dispatch
from newsletter.extensions import db
from newsletter.subscriptions.signup import SignupRequest, request_subscription
from newsletter.web.public.blueprint import bp
from newsletter.web.public.forms import SubscribeForm
from newsletter.web.public.limits import count_signup, too_many_signups
from newsletter.web.public.list_choices import public_list_choices
from newsletter.web.public.typos import suggest
from newsletter.web.visible_text import visible_text


def _form(lists, *, as_sent: bool) -> SubscribeForm:
    """The sign-up form: as sent in this request, or blank as the page first shows it."""
    form = SubscribeForm() if as_sent else SubscribeForm(formdata=None)
    form.lists.choices = [(ml.slug, ml.name) for ml in lists]
    if not as_sent and len(lists) == 1:
        # One list: ticked for the person; several: never pre-ticked (PECR, GDPR).
        form.lists.data = [lists[0].slug]
    return form


_WORDINGS = "newsletter.signup_wordings"
_WORDINGS_MAX = 100


def _wording(lists) -> str:
    """The exact text a person sees on the form, stored as consent evidence.

    The visible text of the blank form as the page shows it (heading, introduction, labels,
    hints, each list's name and description, the privacy sentence, the button), one line per
    block. Rendered once per set of lists (name, description and all) in each process; the
    render reads nothing the request sent and leaves the session alone.
    """
    known = current_app.extensions.setdefault(_WORDINGS, {})
    key = tuple(lists)
    wording = known.get(key)
    if wording is None:
        form = _form(lists, as_sent=False)
        page = render_template(
            "public/_subscribe_form.html", form=form, lists=lists, consent_wording=True
        )
        wording = visible_text(page)
        if len(known) < _WORDINGS_MAX:
            known[key] = wording
    return wording


def _offered(lists) -> tuple[list, str | None]:
    """The lists the form offers: all public ones, or the one `?list=slug` names.

    A list's own sign-up link (shown on its admin page) offers that list alone, ticked as any
    one-list form is; a slug that names no public list is ignored.
    """
    slug = request.args.get("list", "", type=str)
    only = [ml for ml in lists if ml.slug == slug] if slug else []
    return (only, slug) if only else (list(lists), None)


@bp.route("/subscribe", methods=["GET", "POST"])
def subscribe():
    lists, only_list = _offered(public_list_choices())
    form = _form(lists, as_sent=request.method == "POST")
    page = {"form": form, "lists": lists, "only_list": only_list}
    if request.method == "GET":
        return render_template("public/subscribe.html", **page)
    # The address the person was last asked about ("did you mean …?"): sent again as it was,
    # it is what they mean; "use_suggestion" takes the suggestion instead.
    checked = request.form.get("checked_email", "").strip()
    typed = (form.email.data or "").strip()
    if checked and typed == checked and request.form.get("use_suggestion"):
        form.email.data = suggest(typed) or typed
    valid = form.validate()
    if valid and typed != checked:
        assert form.address is not None  # set by the successful validate() above
        suggestion = suggest(form.address.email)
        if suggestion is not None:
            # Decided by the typed text alone, before any limit is counted or anything read.
            return render_template("public/subscribe.html", **page, suggestion=suggestion)
    # Bots fill the honeypot: their attempts count against the network address only.
    address = form.address if valid and not form.website.data else None
    allowance = count_signup(address.key if address else None)
    if not allowance.network:
        return too_many_signups()
    if not valid:
        return render_template("public/subscribe.html", **page), 400
    # Past the per-address limit, or from a bot, the answer is the same page: it tells
    # nothing about the address.
    if address is not None and allowance.address:
        chosen = [ml for ml in lists if ml.slug in set(form.lists.data)]
        start_signup(address, form.name.data.strip(), chosen, _version(lists))
    assert form.address is not None  # set by the successful validate() above
    return check_email_page(form.address.email)


def start_signup(address: Address, name: str, chosen: list, version: str) -> None:
    """Ask for the sign-up as the person saw it (`version` of the wording), from this request.

    Both sign-up doors call this: the form here and the embedded form (embed.py).
    """
    origin = Origin.from_request()
    if can_dispatch():
        # A worker records it after the answer has gone: whatever the address's state
        # (new, pending, confirmed, left, suppressed), the request reads and writes the
        # same, so its timing tells nothing (tests/web/public/test_signup_timing.py).
        signup = SignupRequest.made(address, name, chosen, origin, version)
        enqueue.record_signup(signup.to_message())
    else:
        # Nothing consumes the queue (no REDIS_URL and no `serve` worker in this process):
        # the request records the sign-up itself.
        result = request_subscription(address, name, chosen, origin, "", version=version)
        if result.confirmation_due:
            enqueue.send_confirmation(result.subscriber_id)


def _version(lists) -> str:
    """The stored version of the form's wording, storing the text the first time it is seen.

    The text is committed here, in the request, so that the worker's consent events name a
    version that exists; each process looks a wording up once (consent.wording_version).
    """
    version = wording_version(_wording(lists))
    if db.session.new:
        db.session.commit()
    return version


_CHECK_EMAIL = "newsletter.check_email_page"
_SLOT = "ADDRESS-GOES-HERE"


def check_email_page(email: str) -> str:
    """The answer to every valid sign-up, the same page whatever the address's standing.

    Rendered once per process with a slot for the address, which is escaped into it on each
    request; a visitor with flash messages waiting gets a full render that shows them.
    """
    if "_flashes" in session:
        return render_template("public/check_email.html", email=email)
    page = current_app.extensions.get(_CHECK_EMAIL)
    if page is None:
        page = render_template("public/check_email.html", email=_SLOT).split(_SLOT)
        current_app.extensions[_CHECK_EMAIL] = page
    return str(escape(email)).join(page)
