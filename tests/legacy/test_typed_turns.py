"""Typed turns (issue 12): outside a call through `POST /api/conversations/<id>/messages`, the
Legacy reply path as text; inside a Legacy call through `/api/legacy/replies` with
`"source": "text"`. Against the running simulator."""

from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from tests.factories import make_call, make_conversation, make_usage
from tests.legacy.test_legacy_api import STREAMING, events
from voice.models import Call, Message, UsageRecord, UserBudget


def typed(api, conversation, text="hello", **extra):
    return api.post(
        f"/api/conversations/{conversation.pk}/messages", {"text": text, **extra}, format="json"
    )


@STREAMING
async def test_a_typed_turn_streams_its_reply_and_saves_both_as_text(aapi, user, fast_upstream):
    conversation = await sync_to_async(make_conversation)(user)

    response = await aapi.post(
        f"/api/conversations/{conversation.pk}/messages", {"text": "What is a fjord?"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    stream = await events(response)
    names = [name for name, _ in stream]
    assert names[0] == "start" and names[-1] == "done" and "delta" in names
    done = stream[-1][1]
    assert done["text"] == "".join(data["text"] for name, data in stream if name == "delta")
    messages = await sync_to_async(list)(
        Message.objects.filter(conversation=conversation).order_by("created_at", "pk")
    )
    assert [(m.role, m.source, m.call_id, m.interrupted) for m in messages] == [
        ("user", "text", None, False),
        ("assistant", "text", None, False),
    ]
    assert messages[0].text == "What is a fjord?"
    assert messages[0].item_id == stream[0][1]["user_item_id"]
    assert messages[1].item_id == done["message_id"]
    assert messages[1].text == done["text"]
    assert messages[1].previous_item_id == messages[0].item_id
    await conversation.arefresh_from_db()
    assert conversation.title == "What is a fjord?"
    record = await UsageRecord.objects.aget(user=user)
    assert (record.kind, record.call_id, record.key_source) == ("reply", None, "server")


@STREAMING
async def test_a_typed_turn_continues_the_conversation_of_earlier_calls(aapi, user, fast_upstream):
    def spoken_before():
        call = make_call(user, mode="legacy", status=Call.Status.ENDED)
        Message.objects.create(
            conversation=call.conversation,
            call=call,
            item_id="u0",
            role="user",
            text="My name is Ada",
        )
        return call.conversation

    conversation = await sync_to_async(spoken_before)()

    await events(
        await aapi.post(
            f"/api/conversations/{conversation.pk}/messages", {"text": "What is my name?"}
        )
    )

    sent = fast_upstream.requests("/v1/chat/completions")[-1]["json"]["messages"]
    assert [m["content"] for m in sent[1:]] == ["My name is Ada", "What is my name?"]
    api_messages = await sync_to_async(list)(
        Message.objects.filter(conversation=conversation).values_list("previous_item_id", flat=True)
    )
    assert "u0" in api_messages  # the typed words follow the spoken ones


def test_a_typed_turn_into_a_conversation_with_a_live_call_is_refused(api, user, fast_upstream):
    live = make_call(user, mode="realtime")

    response = typed(api, live.conversation)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_active"
    assert response.json()["active_call"] == str(live.pk)
    assert not fast_upstream.requests("/v1/chat/completions")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"text": "hi", "item_id": "a b"}],
)
def test_a_bad_typed_turn_is_a_clear_400(api, user, fast_upstream, body):
    conversation = make_conversation(user)

    response = api.post(f"/api/conversations/{conversation.pk}/messages", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert not fast_upstream.requests("/v1/chat/completions")


def test_an_unknown_conversation_is_not_found(api, fast_upstream):
    response = api.post(
        "/api/conversations/00000000-0000-0000-0000-000000000000/messages",
        {"text": "hi"},
        format="json",
    )

    assert response.status_code == 404


def test_typed_turns_are_refused_once_the_budget_is_spent(api, user, fast_upstream):
    UserBudget.objects.create(user=user, monthly_usd=Decimal("1.00"))
    make_usage(user, cost="1.00")
    conversation = make_conversation(user)

    response = typed(api, conversation)

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert not fast_upstream.requests("/v1/chat/completions")


def test_typed_turns_need_a_usable_key(api, user, fast_upstream, settings):
    settings.OPENAI_API_KEY = ""
    conversation = make_conversation(user)

    response = typed(api, conversation)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "legacy_unavailable"


def test_typed_turns_are_throttled_with_legacy_replies(api, user, fast_upstream, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"legacy_replies": "1/min"})
    ended = make_call(user, mode="legacy", status=Call.Status.ENDED)
    api.post("/api/legacy/replies", {"call": str(ended.pk), "text": "hi"}, format="json")

    response = typed(api, make_conversation(user))

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert not fast_upstream.requests("/v1/chat/completions")


@STREAMING
async def test_words_typed_into_a_legacy_call_are_marked_typed_and_the_reply_spoken(
    aapi, legacy_call, fast_upstream
):
    await events(
        await aapi.post(
            "/api/legacy/replies",
            {"call": legacy_call["id"], "text": "Spell Reykjavik", "source": "text"},
        )
    )

    messages = await sync_to_async(list)(
        Message.objects.filter(call_id=legacy_call["id"]).order_by("created_at", "pk")
    )
    assert [(m.role, m.source) for m in messages] == [("user", "text"), ("assistant", "voice")]


def test_a_reply_refuses_an_unknown_source(api, legacy_call):
    response = api.post(
        "/api/legacy/replies",
        {"call": legacy_call["id"], "text": "hi", "source": "telepathy"},
        format="json",
    )

    assert response.status_code == 400
