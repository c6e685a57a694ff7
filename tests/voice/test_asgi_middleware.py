"""The middleware stack as daphne runs it (ASGI, async mode): same protections, same sessions."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]


async def test_logging_in_saves_the_session_and_the_page_sees_it():
    user = await sync_to_async(make_user)()
    client = AsyncClient()

    login = await client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    page = await client.get("/")

    assert login.status_code == 302
    assert page.status_code == 200
    assert b'data-testid="call-start"' in page.content


async def test_csrf_is_enforced_under_asgi():
    user = await sync_to_async(make_user)()
    client = AsyncClient(enforce_csrf_checks=True)

    response = await client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 403


async def test_security_headers_are_set_under_asgi():
    response = await AsyncClient().get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"


async def test_the_policies_allow_our_own_scripts_and_microphone_only():
    response = await AsyncClient().get("/accounts/login/")

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no nonce on a page without one
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    features = response["Permissions-Policy"]
    assert "microphone=(self)" in features
    assert "camera=()" in features
    assert "geolocation=()" in features


async def test_admin_messages_reach_the_next_page_under_asgi():
    admin = await sync_to_async(make_user)(is_staff=True, is_superuser=True)
    client = AsyncClient()
    await sync_to_async(client.force_login)(admin)
    target = await sync_to_async(make_user)()

    response = await client.post(
        "/admin/voice/userapikey/add/",
        {"user": target.pk, "api_key": "sk-proj-Abcdefghijklmnopqrstuvwx1234wxyz"},
        follow=True,
    )

    assert response.status_code == 200
    assert b"was added successfully" in response.content
