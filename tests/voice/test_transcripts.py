"""POST /api/calls/<id>/transcript: idempotent upserts in conversation order."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import make_call, make_message, make_user
from voice import limits
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
        "source",
        "created_at",
        "tool",
    }
    assert transcript[0]["tool"] is None
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


def test_items_are_accepted_within_the_grace_period_after_the_call_ended(api, user):
    ended_at = timezone.now() - limits.LATE_SAVE_GRACE + timedelta(seconds=10)
    call = make_call(user, status=Call.Status.ENDED, ended_at=ended_at)

    response = post_items(api, call, {"item_id": "late", "role": "user", "text": "flushed"})

    assert response.json() == {"saved": 1}


def test_items_after_the_grace_period_are_call_ended_and_not_saved(api, user):
    ended_at = timezone.now() - limits.LATE_SAVE_GRACE - timedelta(seconds=1)
    call = make_call(user, status=Call.Status.ENDED, ended_at=ended_at)

    response = post_items(api, call, {"item_id": "late", "role": "user", "text": "too late"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_ended"
    assert "2 minutes" in response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_the_server_side_upsert_is_not_bound_by_the_grace_period(user):
    call = make_call(user, status=Call.Status.ENDED, ended_at=timezone.now() - timedelta(hours=1))

    transcript_upsert(call=call, items=[{"item_id": "m", "role": "user", "text": "monitor"}])

    assert Message.objects.get().text == "monitor"


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


def items(count: int, prefix: str = "m") -> list[dict]:
    return [{"item_id": f"{prefix}{n}", "role": "user", "text": "x"} for n in range(count)]


def test_a_full_request_is_saved_and_one_more_item_is_413(api, user):
    call = make_call(user)
    most = limits.TRANSCRIPT_ITEMS_PER_REQUEST

    assert post_items(api, call, *items(most)).json() == {"saved": most}
    response = post_items(api, call, *items(most + 1, prefix="n"))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert f"at most {most} items" in response.json()["error"]["message"]
    assert not Message.objects.filter(item_id__startswith="n").exists()


def test_a_call_is_full_at_its_item_limit_but_a_retry_still_fits(api, user, monkeypatch):
    monkeypatch.setattr(limits, "TRANSCRIPT_ITEMS_PER_CALL", 3)
    call = make_call(user)
    assert post_items(api, call, *items(3)).json() == {"saved": 3}

    refused = post_items(api, call, {"item_id": "m3", "role": "user", "text": "one more"})
    retried = post_items(api, call, {"item_id": "m2", "role": "user", "text": "corrected"})

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"
    assert "at most 3 transcript items" in refused.json()["error"]["message"]
    assert retried.json() == {"saved": 1}
    assert Message.objects.get(item_id="m2").text == "corrected"
    assert Message.objects.filter(call=call).count() == 3


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"item_id": "a" * 65, "role": "user", "text": "x"}, "1–64 letters"),
        ({"item_id": "ok", "previous_item_id": "no/slash", "role": "user", "text": "x"}, "1–64"),
        ({"item_id": "a", "role": "user", "text": "x" * 20_001}, "20000 characters"),
    ],
)
def test_refusals_name_the_limit(api, user, item, says):
    response = post_items(api, make_call(user), item)

    assert response.status_code == 400
    assert says in response.json()["error"]["message"]


# --- paged reads ------------------------------------------------------------------------------


def read_all_pages(api, path: str, field: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    url: str | None = f"{path}?limit={limit}"
    while url is not None:
        response = api.get(url)
        pages.append([item["item_id"] for item in response.json()[field]])
        earlier = re.fullmatch(r'<([^>]+)>; rel="prev"', response.headers.get("Link", ""))
        url = earlier.group(1) if earlier else None
    return pages


def test_a_call_transcript_is_read_latest_page_first(api, user):
    call = make_call(user)
    for n in range(5):
        make_message(call, item_id=f"m{n}")

    pages = read_all_pages(api, f"/api/calls/{call.id}", "transcript", limit=2)

    assert pages == [["m3", "m4"], ["m1", "m2"], ["m0"]]


def test_a_page_is_in_conversation_order_even_when_a_transcript_arrived_late(api, user):
    call = make_call(user)
    make_message(call, item_id="u1")
    make_message(call, item_id="a1", role="assistant", previous_item_id="u1")
    make_message(call, item_id="a2", role="assistant", previous_item_id="u2")
    make_message(call, item_id="u2", previous_item_id="a1")  # transcribed after the reply

    pages = read_all_pages(api, f"/api/calls/{call.id}", "transcript", limit=2)

    assert pages == [["u2", "a2"], ["u1", "a1"]]


def test_by_default_a_read_is_the_latest_page_with_no_cursor_when_it_is_all(api, user):
    call = make_call(user)
    make_message(call, item_id="only")

    response = api.get(f"/api/calls/{call.id}")

    assert [item["item_id"] for item in response.json()["transcript"]] == ["only"]
    assert "Link" not in response.headers


def test_a_long_transcript_is_cut_to_the_default_page(api, user):
    call = make_call(user)
    count = limits.READ_PAGE_DEFAULT + 1
    Message.objects.bulk_create(
        Message(conversation=call.conversation, call=call, item_id=f"m{n}", role="user")
        for n in range(count)
    )

    response = api.get(f"/api/calls/{call.id}")

    items = [item["item_id"] for item in response.json()["transcript"]]
    assert items == [f"m{n}" for n in range(1, count)]
    assert response.headers["Link"].endswith('; rel="prev"')


def test_conversation_messages_are_paged_the_same_way(api, user):
    call = make_call(user)
    for n in range(3):
        make_message(call, item_id=f"m{n}")

    pages = read_all_pages(api, f"/api/conversations/{call.conversation_id}", "messages", limit=2)

    assert pages == [["m1", "m2"], ["m0"]]


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=501", "?limit=x", "?before=0", "?before=x", f"?before={2**63}"]
)
def test_a_bad_page_query_is_invalid_request(api, user, query):
    call = make_call(user)

    for path in (f"/api/calls/{call.id}", f"/api/conversations/{call.conversation_id}"):
        response = api.get(path + query)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


def test_a_client_can_neither_save_a_tool_item_nor_change_one(api, user):
    call = make_call(user)
    make_message(call, item_id="tool_1", role="tool", text="Checked the time", tool={"ok": True})

    invented = post_items(api, call, {"item_id": "t2", "role": "tool", "text": "Paid rent"})
    rewritten = post_items(api, call, {"item_id": "tool_1", "role": "user", "text": "Hi"})

    assert invented.status_code == rewritten.status_code == 400
    assert "records a tool call" in rewritten.json()["error"]["message"]
    assert list(Message.objects.values_list("item_id", "role", "text")) == [
        ("tool_1", "tool", "Checked the time")
    ]
