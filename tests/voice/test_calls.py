"""Calls through the API and the lifecycle services: one live call, stale calls, end/active."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import make_call, make_conversation, make_user
from voice.errors import VoiceError
from voice.models import Call
from voice.services.calls import call_check_and_start, call_end


def test_calls_are_listed_newest_first_and_only_the_users_own(api, user, other_user):
    older = make_call(user, status=Call.Status.ENDED)
    newer = make_call(user, status=Call.Status.ENDED)
    make_call(other_user)
    Call.objects.filter(pk=older.pk).update(started_at=timezone.now() - timedelta(hours=1))

    body = api.get("/api/calls").json()

    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [str(newer.id), str(older.id)]
    assert set(body) == {"count", "next", "previous", "results"}


def test_a_call_has_the_contract_shape(api, user):
    call = make_call(user, model="gpt-realtime-2.1", voice="marin")

    body = api.get(f"/api/calls/{call.id}").json()

    assert set(body) == {
        "id",
        "mode",
        "status",
        "model",
        "voice",
        "conversation",
        "started_at",
        "connected_at",
        "ended_at",
        "ended_reason",
        "transcript",
        "cost",  # added with usage: USD so far, as a string
    }
    assert body["conversation"] == str(call.conversation_id)
    assert body["ended_reason"] is None
    assert body["transcript"] == []


def test_another_users_call_is_not_found(api, other_user):
    call = make_call(other_user)

    for response in (
        api.get(f"/api/calls/{call.id}"),
        api.post(f"/api/calls/{call.id}/end", {}, format="json"),
        api.post(f"/api/calls/{call.id}/active", {}, format="json"),
        api.post(
            f"/api/calls/{call.id}/transcript",
            {"items": [{"item_id": "a", "role": "user", "text": "hi"}]},
            format="json",
        ),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE


def test_end_is_idempotent_and_keeps_the_first_reason(api, user):
    call = make_call(user)

    first = api.post(f"/api/calls/{call.id}/end", {"reason": "user_hangup"}, format="json")
    second = api.post(f"/api/calls/{call.id}/end", {"reason": "other"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "ended"
    assert second.json()["ended_reason"] == "user_hangup"
    assert second.json()["ended_at"] == first.json()["ended_at"]


def test_end_without_a_body_uses_hangup(api, user):
    call = make_call(user)

    assert api.post(f"/api/calls/{call.id}/end").json()["ended_reason"] == "user"


@pytest.mark.parametrize("reason", ["Not Snake", "x" * 65, ["hangup"], ""])
def test_a_malformed_end_reason_is_invalid_request(api, user, reason):
    call = make_call(user)

    response = api.post(f"/api/calls/{call.id}/end", {"reason": reason}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_active_moves_connecting_to_active_once(api, user):
    call = make_call(user, status=Call.Status.CONNECTING)

    first = api.post(f"/api/calls/{call.id}/active").json()
    second = api.post(f"/api/calls/{call.id}/active").json()

    assert first["status"] == second["status"] == "active"
    assert first["connected_at"] is not None
    assert second["connected_at"] == first["connected_at"]


def test_active_on_an_ended_call_is_call_ended(api, user):
    call = make_call(user, status=Call.Status.ENDED)

    response = api.post(f"/api/calls/{call.id}/active")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_ended"


def test_a_second_live_call_is_refused_with_the_active_ones_id(user):
    first = call_check_and_start(user=user, mode="realtime")

    with pytest.raises(VoiceError) as raised:
        call_check_and_start(user=user, mode="legacy")

    assert raised.value.code == "call_active"
    assert raised.value.status == 409
    assert raised.value.extra == {"active_call": str(first.id)}


def test_a_call_can_start_once_the_previous_one_ended(user):
    first = call_check_and_start(user=user, mode="realtime")
    call_end(call=first)

    second = call_check_and_start(user=user, mode="legacy", conversation_id=first.conversation_id)

    assert second.status == Call.Status.CONNECTING
    assert second.conversation_id == first.conversation_id


def test_a_call_cannot_continue_another_users_conversation(user, other_user):
    foreign = make_conversation(other_user)

    with pytest.raises(VoiceError) as raised:
        call_check_and_start(user=user, mode="realtime", conversation_id=foreign.id)

    assert raised.value.code == "not_found"


def test_a_call_left_connecting_over_a_minute_is_stale(user):
    stuck = make_call(user, status=Call.Status.CONNECTING)
    Call.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timedelta(seconds=61))

    call_check_and_start(user=user, mode="realtime")

    stuck.refresh_from_db()
    assert stuck.status == Call.Status.ENDED
    assert stuck.ended_reason == "connect_timeout"


def test_a_call_active_past_the_maximum_is_stale(user):
    long_call = make_call(user, connected_at=timezone.now() - timedelta(minutes=31))

    call_check_and_start(user=user, mode="realtime")

    long_call.refresh_from_db()
    assert long_call.ended_reason == "max_duration"


def test_a_recent_connecting_call_is_not_stale(user):
    make_call(user, status=Call.Status.CONNECTING)

    with pytest.raises(VoiceError):
        call_check_and_start(user=user, mode="realtime")


@pytest.mark.django_db(transaction=True)
def test_racing_starts_leave_exactly_one_live_call():
    user = make_user()
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def start():
        barrier.wait()
        try:
            call_check_and_start(user=user, mode="realtime")
            outcomes.append("started")
        except VoiceError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["call_active"] * 3 + ["started"]
    assert Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).count() == 1
