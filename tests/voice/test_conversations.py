"""GET /api/conversations and /api/conversations/<id>."""

from tests.factories import make_call, make_conversation, make_message


def test_conversations_list_only_the_users_own(api, user, other_user):
    mine = make_conversation(user, title="Mine")
    make_conversation(other_user, title="Theirs")

    body = api.get("/api/conversations").json()

    assert body["count"] == 1
    assert body["results"][0]["id"] == str(mine.id)
    assert body["results"][0]["title"] == "Mine"
    assert body["results"][0]["message_count"] == 0


def test_a_conversation_lists_its_messages_across_calls_in_order(api, user):
    first = make_call(user, status="ended")
    second = make_call(user, conversation=first.conversation)
    make_message(first, item_id="u1", role="user", text="one")
    make_message(first, item_id="a1", role="assistant", text="two", previous_item_id="u1")
    make_message(second, item_id="u2", role="user", text="three")

    body = api.get(f"/api/conversations/{first.conversation_id}").json()

    assert [m["text"] for m in body["messages"]] == ["one", "two", "three"]
    assert [m["call"] for m in body["messages"]] == [str(first.id)] * 2 + [str(second.id)]


def test_another_users_conversation_is_not_found(api, other_user):
    theirs = make_conversation(other_user)

    response = api.get(f"/api/conversations/{theirs.id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_malformed_id_is_not_found(api):
    assert api.get("/api/conversations/not-a-uuid").status_code == 404
