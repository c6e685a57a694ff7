"""A MIDDLEWARE list that answers "is Django's X installed?" by class, not by dotted path.

`MIDDLEWARE` holds subclasses of Django's own middleware (`voiceproject.middleware`, which runs
them without a thread hop per hook under ASGI). Django's security checks (`check --deploy`: HSTS,
SSL redirect, nosniff, X-Frame-Options, referrer policy, COOP, secure session and CSRF cookies)
ask `"django.middleware.security.SecurityMiddleware" in settings.MIDDLEWARE`; a plain list says
no, so those checks would pass without checking anything. This list says yes exactly when an
installed class is that class or a subclass of it, the rule the admin's own checks already use
(`django.contrib.admin.checks._contains_subclass`). It imports nothing until asked, since
settings are read before the app registry is ready.
"""

from typing import Any

from django.utils.module_loading import import_string


class MiddlewareList(list[Any]):
    def __contains__(self, path: object) -> bool:
        if super().__contains__(path):
            return True
        if not isinstance(path, str):
            return False
        try:
            wanted = import_string(path)
        except ImportError:
            return False
        return any(
            isinstance(cls, type) and issubclass(cls, wanted) for cls in map(import_string, self)
        )
