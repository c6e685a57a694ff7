"""The admin deletes ended calls and conversations, never a live call (issue 9, item 13)."""

import pytest
from django.test import Client

from tests.conftest import PASSWORD, SERVER_KEY
from tests.factories import make_call, make_user
from voice.models import Call, Conversation


@pytest.fixture
def admin_client_(db) -> Client:
    client = Client()
    client.login(
        username=make_user("root", is_staff=True, is_superuser=True).username, password=PASSWORD
    )
    return client


def test_a_live_call_cannot_be_deleted(admin_client_, user):
    call = make_call(user, status=Call.Status.ACTIVE)

    refused = admin_client_.post(f"/admin/voice/call/{call.pk}/delete/", {"post": "yes"})

    assert "live: end it first" in refused.content.decode()
    assert Call.objects.filter(pk=call.pk).exists()


def test_an_ended_call_can_be_deleted(admin_client_, user):
    call = make_call(user, status=Call.Status.ENDED)

    response = admin_client_.post(f"/admin/voice/call/{call.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Call.objects.filter(pk=call.pk).exists()


def bulk_delete(client, model: str, *objects):
    return client.post(
        f"/admin/voice/{model}/",
        {"action": "delete_selected", "_selected_action": [o.pk for o in objects], "post": "yes"},
    )


def test_a_selection_holding_a_live_call_is_not_deleted(admin_client_, user):
    live = make_call(user, status=Call.Status.CONNECTING)
    ended = make_call(make_user(), status=Call.Status.ENDED)

    response = bulk_delete(admin_client_, "call", live, ended)

    assert "live: end it first" in response.content.decode()
    assert Call.objects.count() == 2


def test_a_conversation_with_a_live_call_is_not_deleted(admin_client_, user):
    live = make_call(user, status=Call.Status.ACTIVE)

    single = admin_client_.post(
        f"/admin/voice/conversation/{live.conversation_id}/delete/", {"post": "yes"}
    )
    selected = bulk_delete(admin_client_, "conversation", live.conversation)

    assert "live: end it first" in single.content.decode()
    assert "live: end it first" in selected.content.decode()
    assert Conversation.objects.filter(pk=live.conversation_id).exists()
    assert Call.objects.filter(pk=live.pk).exists()


def test_a_conversation_whose_calls_ended_can_be_deleted(admin_client_, user):
    ended = make_call(user, status=Call.Status.ENDED)

    bulk_delete(admin_client_, "conversation", ended.conversation)

    assert not Conversation.objects.exists()


def test_the_admin_ends_live_calls_with_reason_admin_and_hangs_them_up(admin_client_, upstream):
    from voice.services.calls import call_start
    from voice.services.keys import ResolvedKey

    caller = make_user()
    live = call_start(
        user=caller, mode="realtime", key=ResolvedKey(value=SERVER_KEY, source="server")
    )
    Call.objects.filter(pk=live.pk).update(upstream_call_id="rtc_admin_ended")
    finished = make_call(make_user(), status=Call.Status.ENDED, ended_reason="user")

    response = admin_client_.post(
        "/admin/voice/call/",
        {"action": "end_calls", "_selected_action": [live.pk, finished.pk]},
        follow=True,
    )

    assert "Ended 1 live call(s)." in response.content.decode()
    live.refresh_from_db()
    finished.refresh_from_db()
    assert (live.status, live.ended_reason) == ("ended", "admin")
    assert finished.ended_reason == "user"  # an ended call is left as it was
    assert upstream.requests("/v1/realtime/calls/rtc_admin_ended/hangup")
