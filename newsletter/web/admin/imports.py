"""Admin pages: importing subscribers from an uploaded export, and following the job."""

import io
from itertools import islice

from flask import (
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice

from newsletter import lists
from newsletter.delivery import control, reconfirmation, welcome
from newsletter.delivery.reconfirmation import count_awaiting_reconfirmation
from newsletter.errors import NewsletterError
from newsletter.extensions import db
from newsletter.imports import jobs, uploads
from newsletter.imports.errors import ImportFileError
from newsletter.imports.formats import MAP_EMAIL_ADVICE, WEB_EMAIL_ADVICE
from newsletter.imports.guide import guide_html
from newsletter.imports.preview import preview
from newsletter.imports.reports import RejectsWriter, job_rejects
from newsletter.models import ConsentMode, ImportFile, ImportJob, MailingList
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ConfirmForm, ImportForm
from newsletter.web.forms import sentence, show_error

PAGE_SIZE = 50


def _job(job_id: int) -> ImportJob:
    return db.get_or_404(ImportJob, job_id)


@bp.get("/imports")
@admin_required
def imports_index():
    recent = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(PAGE_SIZE))
    names = dict(db.session.execute(select(MailingList.id, MailingList.name)).all())
    return render_template("admin/imports_index.html", jobs=list(recent), list_names=names)


@bp.route("/imports/new", methods=["GET", "POST"])
@admin_required
def imports_new():
    form = ImportForm()
    form.mailing_list.choices = [SelectChoice(ml.slug, ml.name) for ml in lists.all_lists()]
    if form.validate_on_submit():
        upload = form.file.data
        with upload.stream:  # a large upload is a temporary file: close it once read
            content = upload.read()
        try:
            # Only the file's head is read here, under the import's limits: a file an import
            # would refuse for what its start shows is refused now, and nothing is kept.
            preview(
                upload.filename or "upload.csv", content, form.format.data,
                form.consent.data, uploads.limits(),
            )  # fmt: skip
            job = uploads.keep_upload(
                upload.filename or "upload.csv",
                content,
                lists.get_list(form.mailing_list.data),
                form.format.data,
                ConsentMode(form.consent.data),
                actor=current_user._get_current_object(),
            )
        except ImportFileError as error:
            show_error(form.file, _described(error))
        else:
            return redirect(url_for("admin.imports_preview", job_id=job.id))
    status = 422 if form.errors else 200
    return render_template("admin/imports_new.html", form=form), status


def _described(error: ImportFileError) -> str:
    """The import's sentence for a refused file, advising what the web form can do: it has
    no --map option, the command line's advice for a file without an email column."""
    return jobs.describe(error).replace(MAP_EMAIL_ADVICE, WEB_EMAIL_ADVICE)


@bp.get("/imports/guide")
@admin_required
def imports_guide():
    return render_template("admin/imports_guide.html", guide=Markup(guide_html()))


@bp.get("/imports/<int:job_id>/preview")
@admin_required
def imports_preview(job_id: int):
    """The detected format, the column mapping and the first rows, before anything starts."""
    job = _job(job_id)
    if not job.previewing:
        return redirect(url_for("admin.imports_show", job_id=job.id))
    stored = db.session.get(ImportFile, job.id)
    shown, problem = None, None
    if stored is None:
        problem = "its uploaded file has been deleted; upload it again"
    else:
        try:
            shown = preview(
                job.file_name, stored.content, job.format, job.consent_mode.value, uploads.limits()
            )
        except ImportFileError as error:
            problem = _described(error)
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    return render_template(
        "admin/imports_preview.html",
        job=job,
        mailing_list=mailing_list,
        preview=shown,
        problem=problem,
        form=ConfirmForm(),
        welcome=welcome.welcome_of(mailing_list) if mailing_list else None,
    )


@bp.post("/imports/<int:job_id>/start")
@admin_required
def imports_start(job_id: int):
    """Start a previewed upload: the import itself, or a dry run (`action=dry_run`)."""
    job = _job(job_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form had expired: try again.", "error")
        return redirect(url_for("admin.imports_preview", job_id=job.id))
    # The import's one option: welcome each person it confirms (the list's welcome message).
    job.send_welcome = request.form.get("send_welcome") == "1"
    try:
        uploads.start(
            job, request.form.get("action") == "dry_run", actor=current_user._get_current_object()
        )
    except ImportFileError as error:
        flash(sentence(error), "error")
    return redirect(url_for("admin.imports_show", job_id=job.id))


@bp.post("/imports/<int:job_id>/import")
@admin_required
def imports_after_dry_run(job_id: int):
    """Import for real the file a finished dry run kept."""
    job = _job(job_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form had expired: try again.", "error")
        return redirect(url_for("admin.imports_show", job_id=job.id))
    try:
        new = uploads.import_after_dry_run(job, actor=current_user._get_current_object())
    except ImportFileError as error:
        flash(sentence(error), "error")
        return redirect(url_for("admin.imports_show", job_id=job.id))
    return redirect(url_for("admin.imports_show", job_id=new.id))


@bp.get("/imports/<int:job_id>")
@admin_required
def imports_show(job_id: int):
    job = _job(job_id)
    if job.previewing:
        return redirect(url_for("admin.imports_preview", job_id=job.id))
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    dry_run_done = job.dry_run and job.status.value == "done"
    return render_template(
        "admin/imports_show.html",
        job=job,
        mailing_list=mailing_list,
        checking=uploads.checking(job),
        reconfirmation=reconfirmation.reconfirmation_of(job),
        followed_by=uploads.imported_after(job) if dry_run_done else None,
        file_kept=uploads.has_upload(job) if dry_run_done else False,
        form=ConfirmForm(),
    )


@bp.route("/imports/<int:job_id>/reconfirm", methods=["GET", "POST"])
@admin_required
def imports_reconfirm(job_id: int):
    """Ask the people the import left pending to confirm: a confirmation step, then the send."""
    job = _job(job_id)
    started = reconfirmation.reconfirmation_of(job)
    if started is not None:
        return redirect(url_for("admin.issues_show", issue_id=started.id))
    try:
        reconfirmation.check_reconfirmable(job)
    except NewsletterError as error:
        flash(sentence(error), "error")
        return redirect(url_for("admin.imports_show", job_id=job.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            issue = reconfirmation.start_reconfirmation(
                job, current_user._get_current_object(), dispatch=control.can_dispatch()
            )
        except NewsletterError as error:
            flash(sentence(error), "error")
            return redirect(url_for("admin.imports_show", job_id=job.id))
        flash("Sending the confirmation requests.", "success")
        return redirect(url_for("admin.issues_show", issue_id=issue.id))
    mailing_list = db.session.get(MailingList, job.list_id)
    return render_template(
        "admin/imports_reconfirm.html",
        job=job,
        mailing_list=mailing_list,
        count=count_awaiting_reconfirmation(job),
        form=form,
    )


@bp.get("/imports/<int:job_id>/status.json")
@admin_required
def imports_status(job_id: int):
    job = _job(job_id)
    return jsonify(uploads.status(job))


@bp.get("/imports/<int:job_id>/rejects.csv")
@admin_required
def imports_rejects(job_id: int):
    job = _job(job_id)

    def generate():
        buffer = io.StringIO()
        writer = RejectsWriter(buffer)
        rejects = job_rejects(job.id)
        while chunk := list(islice(rejects, 1000)):
            writer.write(chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()  # the header alone when nothing was rejected

    filename = f"import-{job.id}-rejects.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
