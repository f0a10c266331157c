"""The public blueprint, on which each public page module registers its views."""

from flask import Blueprint

bp = Blueprint("public", __name__)
