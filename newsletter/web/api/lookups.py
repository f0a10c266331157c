"""Things a request names by id or slug: a missing one in a path is 404, in a body 422."""

from __future__ import annotations

from newsletter.errors import NotFoundError, ValidationError
from newsletter.lists import get_list
from newsletter.models import MailingList


def named_lists(slugs: list[str]) -> list[MailingList]:
    """The lists named in a request, in the order given, each once; a slug that names no list
    is invalid input (422), not a missing resource."""
    try:
        return [get_list(slug) for slug in dict.fromkeys(slugs)]
    except NotFoundError as error:
        raise ValidationError(str(error)) from error
