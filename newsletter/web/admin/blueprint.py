"""The admin blueprint, on which each page module of the admin registers its views."""

from flask import Blueprint

from newsletter.compose.render import sample_subject

bp = Blueprint("admin", __name__)

# `{{ issue|reader_subject }}`: an issue's subject as a sample reader sees it, never the raw
# `{{ subscriber.name }}` (the issues list and each issue's heading show the same).
bp.add_app_template_filter(sample_subject, "reader_subject")
