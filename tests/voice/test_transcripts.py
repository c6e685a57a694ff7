"""POST /api/calls/<id>/transcript: idempotent upserts in conversation order."""

import threading

import pytest
from django.db import connection

from tests.factories import make_call, make_user
from voice.models import Call, Message
from voice.services.transcripts import transcript_upsert


def post_items(api, call, *items):
    return api.post(f"/api/calls/{call.id}/transcript", {"items": list(items)}, format="json")


def test_items_are_saved_and_listed_with_the_call(api, user):
    call = make_call(user)

    response = post_items(
        api,
        call,
        {"item_id": "item_u1", "role": "user", "text": "Hi there"},
        {
            "item_id": "item_a1",
            "role": "assistant",
            "text": "Hello!",
            "previous_item_id": "item_u1",
        },
    )

    assert response.status_code == 200
    assert response.json() == {"saved": 2}
    transcript = api.get(f"/api/calls/{call.id}").json()["transcript"]
    assert [(i["item_id"], i["role"], i["text"]) for i in transcript] == [
        ("item_u1", "user", "Hi there"),
        ("item_a1", "assistant", "Hello!"),
    ]
    assert set(transcript[0]) == {
        "item_id",
        "role",
        "text",
        "interrupted",
        "previous_item_id",
        "created_at",
    }
    assert transcript[0]["previous_item_id"] is None
    assert transcript[1]["previous_item_id"] == "item_u1"


def test_a_retry_never_duplicates_and_a_later_text_replaces(api, user):
    call = make_call(user)
    item = {"item_id": "item_a1", "role": "assistant", "text": "Hel"}

    post_items(api, call, item)
    post_items(api, call, item)
    post_items(api, call, {**item, "text": "Hello there", "interrupted": True})

    messages = Message.objects.filter(call=call)
    assert messages.count() == 1
    assert messages.get().text == "Hello there"
    assert messages.get().interrupted is True


def test_a_later_save_without_previous_item_keeps_the_known_one(api, user):
    call = make_call(user)
    post_items(
        api, call, {"item_id": "b", "role": "assistant", "text": "x", "previous_item_id": "a"}
    )

    post_items(api, call, {"item_id": "b", "role": "assistant", "text": "xy"})

    assert Message.objects.get(item_id="b").previous_item_id == "a"


def test_a_user_transcript_arriving_after_the_reply_is_ordered_before_it(api, user):
    call = make_call(user)
    post_items(api, call, {"item_id": "u1", "role": "user", "text": "First question"})
    post_items(
        api,
        call,
        {"item_id": "a1", "role": "assistant", "text": "First answer", "previous_item_id": "u1"},
    )
    # OpenAI transcribes asynchronously: the reply to u2 lands before u2's own text.
    post_items(
        api,
        call,
        {"item_id": "a2", "role": "assistant", "text": "Second answer", "previous_item_id": "u2"},
    )
    post_items(
        api,
        call,
        {"item_id": "u2", "role": "user", "text": "Second question", "previous_item_id": "a1"},
    )

    transcript = api.get(f"/api/calls/{call.id}").json()["transcript"]

    assert [i["item_id"] for i in transcript] == ["u1", "a1", "u2", "a2"]


def test_items_without_previous_ids_keep_arrival_order(api, user):
    call = make_call(user)
    for n in range(5):
        post_items(api, call, {"item_id": f"m{n}", "role": "user", "text": str(n)})

    transcript = api.get(f"/api/calls/{call.id}").json()["transcript"]

    assert [i["item_id"] for i in transcript] == [f"m{n}" for n in range(5)]


def test_a_cycle_of_previous_ids_still_lists_every_item_once(api, user):
    call = make_call(user)
    post_items(
        api,
        call,
        {"item_id": "x", "role": "user", "text": "1", "previous_item_id": "y"},
        {"item_id": "y", "role": "assistant", "text": "2", "previous_item_id": "x"},
    )

    transcript = api.get(f"/api/calls/{call.id}").json()["transcript"]

    assert sorted(i["item_id"] for i in transcript) == ["x", "y"]


def test_items_are_accepted_after_the_call_ended(api, user):
    call = make_call(user, status=Call.Status.ENDED)

    response = post_items(api, call, {"item_id": "late", "role": "user", "text": "flushed"})

    assert response.json() == {"saved": 1}


def test_the_first_user_words_title_the_conversation(api, user):
    call = make_call(user)

    post_items(
        api, call, {"item_id": "u1", "role": "user", "text": "  What is the   weather like?"}
    )

    call.conversation.refresh_from_db()
    assert call.conversation.title == "What is the weather like?"


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"item_id": "", "role": "user", "text": "x"}],
        [{"item_id": "has space", "role": "user", "text": "x"}],
        [{"item_id": "a" * 65, "role": "user", "text": "x"}],
        [{"item_id": "a", "role": "system", "text": "x"}],
        [{"item_id": "a", "role": "user"}],
        [{"item_id": "a", "role": "user", "text": "x" * 20_001}],
        [{"item_id": "a", "role": "user", "text": "x", "previous_item_id": "a"}],
        [{"item_id": "a", "role": "user", "text": "x", "interrupted": "maybe"}],
        [{"item_id": str(n), "role": "user", "text": "x"} for n in range(201)],
        "not a list",
    ],
)
def test_malformed_items_are_refused_and_nothing_is_saved(api, user, items):
    call = make_call(user)

    response = api.post(f"/api/calls/{call.id}/transcript", {"items": items}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert not Message.objects.exists()


def test_an_empty_body_is_refused(api, user):
    call = make_call(user)

    response = api.post(f"/api/calls/{call.id}/transcript", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("items:")


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_item_leave_one_row():
    call = make_call(make_user())
    barrier = threading.Barrier(6)
    errors = []

    def save(n: int):
        barrier.wait()
        try:
            transcript_upsert(
                call=call, items=[{"item_id": "same", "role": "user", "text": f"v{n}"}]
            )
        except Exception as exc:  # collected: a failure in a thread must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Message.objects.filter(item_id="same").count() == 1
    assert Message.objects.get(item_id="same").text in {f"v{n}" for n in range(6)}


def test_keep_existing_adds_new_items_and_leaves_saved_ones_alone(user):
    call = make_call(user)
    transcript_upsert(call=call, items=[{"item_id": "a", "role": "assistant", "text": "heard"}])

    saved = transcript_upsert(
        call=call,
        items=[
            {"item_id": "a", "role": "assistant", "text": "generated, never heard"},
            {"item_id": "b", "role": "user", "text": "new"},
        ],
        keep_existing=True,
    )

    assert [m.item_id for m in saved] == ["b"]
    assert Message.objects.get(item_id="a").text == "heard"
    assert Message.objects.get(item_id="b").text == "new"
