"""Conversations as a user manages them (issue 12): list, search, start, rename, delete, export.

Search runs on both test legs: SQLite's substring fallback and PostgreSQL's full-text search.
"""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import make_call, make_conversation
from voice.models import Call, Conversation, ConversationTerm, Message
from voice.search import search_index_rebuild
from voice.services.transcripts import conversation_messages_upsert, transcript_upsert

ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search index is PostgreSQL's"
)


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()


def talk(user, *turns, title="", conversation=None, **call_fields):
    """A call in a (new) conversation with these (role, text) turns, saved as the page saves
    them (so PostgreSQL's search documents are kept)."""
    call_fields.setdefault("status", Call.Status.ENDED)
    conversation = conversation or make_conversation(user, title=title)
    call = make_call(user, conversation=conversation, **call_fields)
    previous = None
    for number, (role, text) in enumerate(turns):
        item_id = f"{call.pk.hex[:6]}_{number}"
        item = {"item_id": item_id, "role": role, "text": text, "previous_item_id": previous}
        transcript_upsert(call=call, items=[item])
        previous = item_id
    return conversation


def searched(api, query: str) -> dict:
    response = api.get("/api/conversations", {"search": query})
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["results"]}


# --- the list -----------------------------------------------------------------------------------


def test_the_list_says_how_many_messages_and_whether_there_were_calls(api, user):
    spoken = talk(user, ("user", "hello"), ("assistant", "hi"))
    typed = make_conversation(user)
    conversation_messages_upsert(
        conversation=typed, items=[{"item_id": "t1", "role": "user", "text": "x", "source": "text"}]
    )

    results = api.get("/api/conversations").json()["results"]

    by_id = {item["id"]: item for item in results}
    assert set(by_id[str(spoken.pk)]) == {
        "id",
        "title",
        "created_at",
        "updated_at",
        "message_count",
        "has_calls",
        "snippet",
    }
    assert (by_id[str(spoken.pk)]["message_count"], by_id[str(spoken.pk)]["has_calls"]) == (2, True)
    assert (by_id[str(typed.pk)]["message_count"], by_id[str(typed.pk)]["has_calls"]) == (1, False)
    assert by_id[str(spoken.pk)]["snippet"] is None


def test_the_list_is_newest_activity_first_and_paginated(api, user):
    old, new = make_conversation(user, title="old"), make_conversation(user, title="new")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=1))
    for number in range(25):
        make_conversation(user, title=f"filler {number}")
    Conversation.objects.filter(pk=new.pk).update(updated_at=timezone.now() + timedelta(days=1))

    first = api.get("/api/conversations").json()
    second = api.get("/api/conversations", {"page": 2}).json()

    assert first["count"] == 27
    assert first["results"][0]["title"] == "new"
    assert second["results"][-1]["title"] == "old"
    assert first["next"] and second["previous"]


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_a_bad_page_is_a_clear_400(api, page):
    body = error(api.get("/api/conversations", {"page": page}), 400, "invalid_request")
    assert "page" in body["fields"]


# --- search -----------------------------------------------------------------------------------


def test_search_needs_every_word_somewhere_in_the_conversation(api, user):
    both = talk(user, ("user", "My lease in Berlin ends soon"), ("assistant", "I see."))
    spread = talk(user, ("user", "About the lease"), ("assistant", "Is it in Berlin?"))
    one_word = talk(user, ("user", "My lease ends"))

    found = searched(api, "lease berlin")

    assert set(found) == {str(both.pk), str(spread.pk)}
    assert str(one_word.pk) not in found


def test_search_ignores_case(api, user):
    conversation = talk(user, ("user", "The APARTMENT in Lisbon"))

    assert set(searched(api, "apartment LISBON")) == {str(conversation.pk)}


def test_search_finds_a_word_in_the_title(api, user):
    renamed = talk(user, ("user", "nothing to see"), title="Tax return 2026")

    found = searched(api, "tax")

    assert set(found) == {str(renamed.pk)}
    assert found[str(renamed.pk)]["snippet"] is None  # no message has the word


def test_search_never_matches_a_tool_line(api, user):
    """A tool's line is what the assistant did, not what was said: the line of a search for
    'lease' must not make the conversation it ran in a match for 'lease'."""
    conversation = talk(user, ("user", "What did we say?"))
    call = conversation.calls.get()
    Message.objects.create(
        conversation=conversation,
        call=call,
        item_id="tool_1",
        role=Message.Role.TOOL,
        text="Searched your conversations for 'lease'",
        tool={"name": "search_conversations", "arguments": {"query": "lease"}, "ok": True},
    )
    search_index_rebuild(conversation_id=conversation.pk)  # as a rename would

    assert searched(api, "lease") == {}


def test_search_never_finds_another_users_conversations(api, user, other_user):
    talk(other_user, ("user", "secret lease"))
    mine = talk(user, ("user", "my lease"))

    assert set(searched(api, "lease")) == {str(mine.pk)}


def test_the_snippet_is_the_text_around_the_first_word(api, user):
    before = "word " * 40
    conversation = talk(
        user,
        ("user", "we talked about the garden"),
        ("assistant", f"{before}the GARDEN needs water and the roses need pruning {before}"),
    )

    snippet = searched(api, "garden roses")[str(conversation.pk)]["snippet"]

    assert "GARDEN needs water and the roses" in snippet  # the message with both words
    assert snippet.strip().startswith("word") and len(snippet) == 160  # cut around the word
    assert snippet.index("GARDEN") <= 50


def test_the_snippet_of_a_short_message_is_all_of_it(api, user):
    conversation = talk(user, ("user", "Plan the trip to Oslo"))

    assert searched(api, "oslo")[str(conversation.pk)]["snippet"] == "Plan the trip to Oslo"


def test_a_blank_search_is_the_plain_list(api, user):
    talk(user, ("user", "one"))
    talk(user, ("user", "two"))

    assert len(searched(api, "   ")) == 2


def test_a_search_over_the_limits_is_a_clear_400(api):
    too_long = error(api.get("/api/conversations", {"search": "x" * 201}), 400, "invalid_request")
    too_many = error(
        api.get("/api/conversations", {"search": "a b c d e f g h i"}), 400, "invalid_request"
    )

    assert "200" in json.dumps(too_long)
    assert "8 words" in too_many["error"]["message"]


@ON_POSTGRES
def test_on_postgresql_the_last_word_matches_as_a_prefix_for_type_ahead(api, user):
    conversation = talk(user, ("user", "The apartments in Lisbon"))

    assert set(searched(api, "lisbon apart")) == {str(conversation.pk)}
    assert searched(api, "apart lisbon") == {}  # only the last word is a prefix


@ON_POSTGRES
def test_on_postgresql_each_conversations_words_are_indexed_once(api, user):
    conversation = talk(user, ("user", "Lease lease LEASE in Berlin"), title="Flat")

    terms = ConversationTerm.objects.filter(conversation=conversation)

    assert sorted(terms.values_list("term", flat=True)) == ["berlin", "flat", "in", "lease"]
    assert set(terms.values_list("user_id", flat=True)) == {user.pk}


@ON_POSTGRES
def test_on_postgresql_words_cut_from_a_reply_stop_matching(api, user):
    conversation = talk(user, ("user", "tell me"), ("assistant", "Once upon a dragon"))
    call = conversation.calls.get()
    assert searched(api, "dragon")

    transcript_upsert(
        call=call,
        items=[
            {
                "item_id": f"{call.pk.hex[:6]}_1",
                "role": "assistant",
                "text": "Once upon",
                "interrupted": True,
            }
        ],
    )

    assert searched(api, "dragon") == {}
    assert set(searched(api, "once")) == {str(conversation.pk)}


@ON_POSTGRES
def test_on_postgresql_a_new_title_is_searchable_and_old_conversations_are_reindexed(api, user):
    from django.core.management import call_command

    conversation = talk(user, ("user", "some words"))
    api.patch(f"/api/conversations/{conversation.pk}", {"title": "Quarterly taxes"}, format="json")
    assert set(searched(api, "quarterly")) == {str(conversation.pk)}

    ConversationTerm.objects.all().delete()  # as before the index existed
    assert searched(api, "words") == {}
    call_command("voice_search_reindex", stdout=io.StringIO())

    assert set(searched(api, "words quarterly")) == {str(conversation.pk)}


# --- start and rename ---------------------------------------------------------------------------


def test_an_empty_conversation_can_be_started_for_a_typed_turn(api, user):
    response = api.post("/api/conversations", {}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["message_count"], body["has_calls"]) == ("", 0, False)
    assert response["Location"] == f"/api/conversations/{body['id']}"
    assert Conversation.objects.get(pk=body["id"]).user == user


def test_a_rename_is_stripped_and_kept_on_one_line(api, user):
    conversation = talk(user, ("user", "first words"))

    response = api.patch(
        f"/api/conversations/{conversation.pk}", {"title": "  Lease \n in   Berlin "}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Lease in Berlin"
    assert [m["text"] for m in response.json()["messages"]] == ["first words"]
    conversation.refresh_from_db()
    assert conversation.title == "Lease in Berlin"


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": "  \n "}, {"title": "x" * 201}, {"title": 5}, {"title": None}],
)
def test_a_bad_title_is_a_clear_400(api, user, body):
    conversation = make_conversation(user, title="kept")

    response = api.patch(f"/api/conversations/{conversation.pk}", body, format="json")

    assert error(response, 400, "invalid_request")["fields"]["title"]
    conversation.refresh_from_db()
    assert conversation.title == "kept"


def test_a_renamed_title_is_never_replaced_by_the_automatic_one(api, user):
    conversation = make_conversation(user)
    api.patch(f"/api/conversations/{conversation.pk}", {"title": "Mine"}, format="json")
    call = make_call(user, conversation=conversation)

    api.post(
        f"/api/calls/{call.pk}/transcript",
        {"items": [{"item_id": "u1", "role": "user", "text": "The first words"}]},
        format="json",
    )

    conversation.refresh_from_db()
    assert conversation.title == "Mine"


def test_the_automatic_title_follows_the_first_user_turn(api, user):
    call = make_call(user)

    api.post(
        f"/api/calls/{call.pk}/transcript",
        {
            "items": [
                {"item_id": "a0", "role": "assistant", "text": "Hello, how can I help?"},
                {"item_id": "u1", "role": "user", "text": "Find my   lease", "source": "text"},
            ]
        },
        format="json",
    )

    call.conversation.refresh_from_db()
    assert call.conversation.title == "Find my lease"
    assert Message.objects.get(item_id="u1").source == "text"


def test_a_rename_does_not_count_as_activity(api, user):
    conversation = make_conversation(user)
    before = Conversation.objects.get(pk=conversation.pk).updated_at

    api.patch(f"/api/conversations/{conversation.pk}", {"title": "New"}, format="json")

    assert Conversation.objects.get(pk=conversation.pk).updated_at == before


# --- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_conversation_and_its_messages_but_keeps_the_calls(api, user):
    conversation = talk(user, ("user", "bye"))
    call = conversation.calls.get()

    response = api.delete(f"/api/conversations/{conversation.pk}")

    assert response.status_code == 204
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    call.refresh_from_db()
    assert call.conversation_id is None
    assert api.get(f"/api/conversations/{conversation.pk}").status_code == 404


def test_a_conversation_with_a_live_call_cannot_be_deleted(api, user):
    conversation = talk(user, ("user", "still talking"), status=Call.Status.ACTIVE)
    live = conversation.calls.get()

    body = error(api.delete(f"/api/conversations/{conversation.pk}"), 409, "call_active")

    assert body["active_call"] == str(live.pk)
    assert "End the call" in body["error"]["message"]
    assert Conversation.objects.filter(pk=conversation.pk).exists()


# --- another user's conversation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "", None),
        ("patch", "", {"title": "Mine now"}),
        ("delete", "", None),
        ("get", "/export", None),
        ("get", "/export?format=json", None),
        ("post", "/messages", {"text": "hello"}),
    ],
)
def test_another_users_conversation_is_not_found_everywhere(api, other_user, method, path, data):
    theirs = talk(other_user, ("user", "private"), title="Theirs")

    response = getattr(api, method)(f"/api/conversations/{theirs.pk}{path}", data, format="json")

    error(response, 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"
    assert theirs.messages.count() == 1


# --- export -------------------------------------------------------------------------------------


def conversation_with_two_calls(user):
    conversation = talk(
        user,
        ("user", "What is the weather like?"),
        ("assistant", "It is sunny and"),
        title="Weather: Berlin/Oslo",
        mode="realtime",
        ended_reason="user",
    )
    Message.objects.filter(conversation=conversation, role="assistant").update(interrupted=True)
    Message.objects.create(
        conversation=conversation,
        item_id="typed1",
        role="user",
        text="And tomorrow?",
        source="text",
        previous_item_id=conversation.messages.last().item_id,
    )
    Call.objects.filter(conversation=conversation).update(ended_at=timezone.now())
    talk(
        user,
        ("user", "Thanks"),
        conversation=conversation,
        mode="legacy",
        ended_reason="max_duration",
        ended_at=timezone.now(),
    )
    return conversation


def test_a_conversation_exports_as_markdown_with_calls_and_marks(api, user):
    conversation = conversation_with_two_calls(user)

    response = api.get(f"/api/conversations/{conversation.pk}/export", {"format": "md"})

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/markdown")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'weather-berlinoslo-{conversation.pk.hex[:8]}.md"' in disposition
    text = response.content.decode()
    assert text.startswith("# Weather: Berlin/Oslo\n")
    order = [
        "Realtime call started",
        "**You**",
        "What is the weather like?",
        "**Assistant**",
        "interrupted",
        "It is sunny and …",
        "call ended",
        "The caller hung up",
        "typed",
        "And tomorrow?",
        "Legacy call started",
        "Thanks",
        "Reached the longest call",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions), text


def test_a_conversation_exports_as_json_with_calls_sources_and_marks(api, user):
    conversation = conversation_with_two_calls(user)

    response = api.get(f"/api/conversations/{conversation.pk}/export", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    document = json.loads(response.content)
    assert document["id"] == str(conversation.pk)
    assert [(c["mode"], c["ended_reason"]) for c in document["calls"]] == [
        ("realtime", "user"),
        ("legacy", "max_duration"),
    ]
    assert all(call["started_at"] and call["ended_at"] for call in document["calls"])
    messages = document["messages"]
    assert [(m["role"], m["text"], m["source"], m["interrupted"]) for m in messages] == [
        ("user", "What is the weather like?", "voice", False),
        ("assistant", "It is sunny and", "voice", True),
        ("user", "And tomorrow?", "text", False),
        ("user", "Thanks", "voice", False),
    ]
    assert messages[2]["call"] is None
    assert messages[3]["call"] == document["calls"][1]["id"]


def test_markdown_is_the_default_export_and_a_bad_format_is_a_clear_400(api, user):
    conversation = talk(user, ("user", "hi"))

    default = api.get(f"/api/conversations/{conversation.pk}/export")
    bad = api.get(f"/api/conversations/{conversation.pk}/export", {"format": "pdf"})

    assert default["Content-Type"].startswith("text/markdown")
    assert "format" in error(bad, 400, "invalid_request")["fields"]


def test_a_turns_own_markdown_cannot_break_the_files_structure(api, user):
    conversation = talk(user, ("user", "# not a heading\n\n---"))

    text = api.get(f"/api/conversations/{conversation.pk}/export").content.decode()

    assert "> # not a heading\n>\n> ---" in text


@pytest.mark.django_db(transaction=True)
async def test_every_conversation_exports_as_one_zip_in_both_formats(
    user, other_user, worker_thread_db
):
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    def make():
        same_title = [talk(user, ("user", f"turn {n}"), title="Same title") for n in range(2)]
        untitled = make_conversation(user)
        talk(other_user, ("user", "not mine"), title="Theirs")
        return [*same_title, untitled]

    mine = await sync_to_async(make)()
    client = AsyncClient()
    await client.aforce_login(user)

    response = await client.get("/api/conversations/export")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    content = b"".join([chunk async for chunk in response.streaming_content])
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    assert len(names) == len(set(names)) == 6
    for conversation in mine:
        for extension in ("md", "json"):
            [name] = [n for n in names if conversation.pk.hex[:8] in n and n.endswith(extension)]
            assert "/" not in name and name.isascii()
    documents = [json.loads(archive.read(n)) for n in names if n.endswith(".json")]
    assert {d["id"] for d in documents} == {str(c.pk) for c in mine}
    assert "not mine" not in content.decode("latin-1")
    assert any(n.startswith(f"{mine[2].created_at:%Y-%m-%d}-conversation-") for n in names)
