"""Words typed into a Legacy call take the reply path of spoken ones, and are saved as typed."""

import pytest

from tests.legacy.test_legacy_api import events
from voice.models import Message

STREAMING = pytest.mark.django_db(transaction=True)


async def roles_and_sources(call_id: str) -> list[tuple[str, str]]:
    messages = Message.objects.filter(call_id=call_id).order_by("created_at")
    return [row async for row in messages.values_list("role", "source")]


@STREAMING
async def test_typed_words_are_saved_as_text_and_answered_like_spoken_ones(aapi, legacy_call):
    response = await aapi.post(
        "/api/legacy/replies",
        {"call": legacy_call["id"], "text": "Typed, not said", "source": "text"},
    )

    stream = await events(response)
    assert [name for name, _ in stream][0 :: len(stream) - 1] == ["start", "done"]
    assert await roles_and_sources(legacy_call["id"]) == [("user", "text"), ("assistant", "voice")]


@STREAMING
async def test_words_without_a_source_are_spoken_ones(aapi, legacy_call):
    await events(await aapi.post("/api/legacy/replies", {"call": legacy_call["id"], "text": "Hi"}))

    assert (await roles_and_sources(legacy_call["id"]))[0] == ("user", "voice")


def test_an_unknown_source_is_invalid_request_and_saves_nothing(api, legacy_call):
    response = api.post(
        "/api/legacy/replies",
        {"call": legacy_call["id"], "text": "Hi", "source": "telepathy"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert not Message.objects.filter(call_id=legacy_call["id"]).exists()
