"""The admin blueprint, on which each page module of the admin registers its views."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
