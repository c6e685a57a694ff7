import pytest
from rest_framework.test import APIClient

from tests.factories import make_user

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("mallory")


@pytest.fixture
def api(user) -> APIClient:
    """A client logged in as `user` through a Django session, with CSRF checks on."""
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=user.username, password=PASSWORD)
    client.get("/accounts/login/")  # sets the CSRF cookie
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


@pytest.fixture
def anonymous(db) -> APIClient:
    return APIClient()
