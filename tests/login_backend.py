"""django-axes for the test suite: the same limits, except for Django's test-client logins.

`Client.login()` authenticates without a request, which axes refuses outright (it needs the
address); every real login (the login page, the admin) has one and goes through the limits,
as tests/voice/test_login_limits.py shows.
"""

from axes.backends import AxesStandaloneBackend


class AxesBackendOutsideTestClientLogins(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # Client.login(): nothing to limit, let the next backend decide
        return super().authenticate(request, username=username, password=password, **kwargs)
