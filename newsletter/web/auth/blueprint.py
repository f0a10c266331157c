"""The sign-in blueprint, on which the sign-in views register."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
