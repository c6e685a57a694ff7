"""The logged-in user of a request, typed as the user model the services take."""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


def request_user(request: HttpRequest | Request) -> User:
    """`request.user` once login_required or IsAuthenticated has let the request through.

    Their checks leave `request.user` typed as "a user or AnonymousUser"; an anonymous one
    here would mean a view lost its check, so it is refused rather than passed on.
    """
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user
