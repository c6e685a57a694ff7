"""A Legacy call starts only with a key OpenAI accepts (issue 9, item 12)."""

import pytest

from voice.models import Call


def start(api):
    return api.post("/api/legacy/calls", {}, format="json")


def test_a_rejected_key_fails_the_start_and_leaves_no_call(api, fast_upstream, settings):
    settings.OPENAI_API_KEY = "sk-fail-auth-000000000000000000"

    response = start(api)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_auth_failed"
    assert settings.OPENAI_API_KEY not in response.content.decode()
    assert not Call.objects.exists()
    [checked] = fast_upstream.requests("/v1/models")
    assert checked["method"] == "GET"


def test_an_accepted_key_is_checked_once_for_many_starts(api, fast_upstream):
    for _ in range(3):
        call = start(api).json()
        assert api.post(f"/api/calls/{call['id']}/end", {}, format="json").status_code == 200

    assert len(fast_upstream.requests("/v1/models")) == 1
    assert Call.objects.count() == 3


def test_a_rejected_key_is_not_asked_again_at_once(api, fast_upstream, settings):
    settings.OPENAI_API_KEY = "sk-fail-auth-000000000000000000"

    codes = [start(api).json()["error"]["code"] for _ in range(3)]

    assert codes == ["upstream_auth_failed"] * 3
    assert len(fast_upstream.requests("/v1/models")) == 1


@pytest.mark.parametrize(
    "key", ["sk-fail-server-0000000000000000", "sk-fail-rate-000000000000000000"]
)
def test_a_check_that_says_nothing_about_the_key_does_not_block_the_start(
    api, fast_upstream, settings, key
):
    settings.OPENAI_API_KEY = key

    response = start(api)

    assert response.status_code == 201
    assert response.json()["status"] == "connecting"


def test_the_callers_time_zone_is_kept_an_unknown_one_is_utc_and_an_overlong_one_refused(
    api, fast_upstream
):
    overlong = api.post("/api/legacy/calls", {"timezone": "A" * 65}, format="json")
    started = api.post("/api/legacy/calls", {"timezone": "Asia/Tokyo"}, format="json")
    api.post(f"/api/calls/{started.json()['id']}/end", {}, format="json")
    unknown = api.post("/api/legacy/calls", {"timezone": "Atlantis/Capital"}, format="json")

    assert overlong.status_code == 400
    assert overlong.json()["error"]["code"] == "invalid_request"
    assert Call.objects.get(pk=started.json()["id"]).timezone == "Asia/Tokyo"
    assert unknown.status_code == 201  # a call never fails over its time zone
    assert Call.objects.get(pk=unknown.json()["id"]).timezone == ""
