"""Failed logins are limited per account and per address (the admin's login too); a success
resets the count, the lock lifts after the cool-off, and forwarded addresses count only when
the deployment says how many proxies it has."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.django_db
LIMIT = 5


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
    settings.TRUSTED_PROXY_COUNT = 0


def log_in(username: str, password: str, *, ip="10.0.0.1", path="/accounts/login/", **meta):
    client = Client()
    response = client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=ip, **meta
    )
    return response, client


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(times: int, *, usernames=None, ips=None, **kwargs) -> list[int]:
    statuses = []
    for n in range(times):
        username = usernames[n] if usernames else "alice"
        ip = ips[n] if ips else "10.0.0.1"
        statuses.append(log_in(username, "wrong password", ip=ip, **kwargs)[0].status_code)
    return statuses


def test_the_failure_that_reaches_the_limit_gets_the_lockout_page(user):
    assert fail(LIMIT) == [200] * (LIMIT - 1) + [429]


def test_an_account_is_locked_after_the_limit_from_any_address(user):
    fail(LIMIT, ips=[f"10.0.1.{n}" for n in range(LIMIT)])

    response, client = log_in(user.username, PASSWORD, ip="10.0.2.1")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert b'data-testid="login-locked"' in response.content
    assert b"Try again in 15 minutes" in response.content
    assert not logged_in(client)


def test_an_address_is_locked_after_the_limit_whatever_the_accounts(user):
    fail(LIMIT, usernames=[f"guess{n}" for n in range(LIMIT)], ips=["10.0.0.9"] * LIMIT)

    blocked, blocked_client = log_in(user.username, PASSWORD, ip="10.0.0.9")
    elsewhere, elsewhere_client = log_in(user.username, PASSWORD, ip="10.0.0.10")

    assert blocked.status_code == 429
    assert not logged_in(blocked_client)
    assert elsewhere.status_code == 302
    assert logged_in(elsewhere_client)


def test_a_success_resets_the_count(user):
    fail(LIMIT - 1)
    response, _ = log_in(user.username, PASSWORD)
    assert response.status_code == 302

    fail(LIMIT - 1)
    response, client = log_in(user.username, PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_lock_lifts_after_the_cool_off(user):
    fail(LIMIT)
    assert log_in(user.username, PASSWORD)[0].status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response, client = log_in(user.username, PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_admin_login_is_limited_too(db):
    admin = make_user("root", is_staff=True, is_superuser=True)
    fail(LIMIT, usernames=["root"] * LIMIT, path="/admin/login/")

    response, client = log_in(admin.username, PASSWORD, path="/admin/login/")

    assert response.status_code == 429
    assert not logged_in(client)


def test_a_client_written_forwarded_header_is_ignored_without_trusted_proxies(user):
    """Rotating X-Forwarded-For from one connection does not dodge the address limit."""
    for n in range(LIMIT):
        log_in(f"guess{n}", "wrong", ip="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response, _ = log_in(user.username, PASSWORD, ip="10.0.0.9", HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_address_counts(user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.9.9.9"
    # The attacker's own X-Forwarded-For entries are on the left; our proxy appends the real
    # address, so every attempt counts against 198.51.100.7 however the left part varies.
    for n in range(LIMIT):
        log_in(f"guess{n}", "wrong", ip=proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7")

    attacker, _ = log_in(user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    neighbour, client = log_in(
        user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.8"
    )

    assert attacker.status_code == 429
    assert neighbour.status_code == 302  # another client behind the same proxy is not locked
    assert logged_in(client)


def test_a_failed_attempt_is_recorded_without_the_password(user):
    log_in(user.username, "my-secret-guess-123")

    attempt = AccessAttempt.objects.get()

    assert attempt.username == user.username
    assert "my-secret-guess-123" not in attempt.post_data
