"""The call monitor's side of the transcript: sideband events → saved items, and memory."""

import pytest

from realtime.transcriber import SPOKEN_CHARS_PER_SECOND, SidebandItems, memory_events
from tests.factories import make_call, make_message
from voice.models import Message, VoiceConfig
from voice.selectors import CONTEXT_MAX_CHARS, conversation_context
from voice.services.calls import call_context_claim
from voice.services.transcripts import transcript_fill, transcript_upsert

REPLY = "Octopuses have three hearts, and two of them stop beating when they swim."


def user_turn(item_id="item_u1", previous="root"):
    return [
        {"type": "input_audio_buffer.speech_started", "item_id": item_id},
        {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous},
        {
            "type": "conversation.item.added",
            "previous_item_id": previous,
            "item": {"id": item_id, "type": "message", "role": "user", "content": []},
        },
    ]


def reply_start(item_id="item_a1", response_id="resp_1", previous="item_u1"):
    item = {"id": item_id, "type": "message", "role": "assistant", "content": []}
    return [
        {"type": "response.created", "response": {"id": response_id}},
        {"type": "response.output_item.added", "response_id": response_id, "item": item},
        {"type": "conversation.item.added", "previous_item_id": previous, "item": item},
        {"type": "output_audio_buffer.started", "response_id": response_id},
        *(
            {"type": "response.output_audio_transcript.delta", "item_id": item_id, "delta": w}
            for w in ("Octopuses ", "have ", "three ")
        ),
    ]


def reply_done(item_id="item_a1", response_id="resp_1", status="completed", text=REPLY):
    content = [{"type": "output_audio", "transcript": text}]
    return [
        {"type": "response.output_audio_transcript.done", "item_id": item_id, "transcript": text},
        {
            "type": "response.done",
            "response": {
                "id": response_id,
                "status": status,
                "output": [{"id": item_id, "type": "message", "content": content}],
            },
        },
    ]


def transcription(item_id="item_u1", text="Tell me something interesting."):
    return {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": item_id,
        "transcript": text,
    }


def feed_all(items: SidebandItems, events, now=0.0) -> list[dict]:
    saves = []
    for event in events:
        saves += items.feed(event, now)
    return saves


def test_a_played_reply_is_saved_whole_once_its_audio_ends_and_a_late_transcript_keeps_order():
    items = SidebandItems()

    during = feed_all(items, user_turn() + reply_start() + reply_done())
    after = items.feed({"type": "output_audio_buffer.stopped", "response_id": "resp_1"}, 5.0)
    late = items.feed(transcription(), 6.0)

    assert during == []  # generated is not heard: the audio may still be cut
    assert after == [
        {
            "item_id": "item_a1",
            "role": "assistant",
            "text": REPLY,
            "interrupted": False,
            "previous_item_id": "item_u1",
        }
    ]
    assert late == [
        {
            "item_id": "item_u1",
            "role": "user",
            "text": "Tell me something interesting.",
            "interrupted": False,
            "previous_item_id": "root",
        }
    ]


def test_barge_in_saves_the_reply_as_far_as_it_had_played():
    items = SidebandItems()
    feed_all(items, user_turn() + reply_start(), now=0.0)

    saves = feed_all(
        items,
        [
            *reply_done(status="cancelled"),
            {"type": "output_audio_buffer.cleared", "response_id": "resp_1"},
            {"type": "conversation.item.truncated", "item_id": "item_a1", "audio_end_ms": 1000},
        ],
        now=1.0,
    )

    assert [(s["item_id"], s["interrupted"]) for s in saves] == [("item_a1", True)]
    assert 0 < len(saves[0]["text"]) <= SPOKEN_CHARS_PER_SECOND
    assert REPLY.startswith(saves[0]["text"])


def test_a_cut_before_the_transcript_is_final_waits_for_the_final_text():
    items = SidebandItems()
    feed_all(items, user_turn() + reply_start(), now=0.0)

    cut = items.feed(
        {"type": "conversation.item.truncated", "item_id": "item_a1", "audio_end_ms": 1400}, 2.0
    )
    final = feed_all(items, reply_done(status="cancelled"), now=2.1)

    assert cut == []
    assert [(s["interrupted"], s["text"]) for s in final] == [(True, "Octopuses have three")]


def test_a_call_that_ends_mid_reply_saves_what_had_been_heard():
    items = SidebandItems()
    feed_all(items, user_turn() + reply_start() + reply_done(), now=10.0)

    saves = items.flush(now=11.0)  # one second of audio heard, then the call ended

    assert [(s["item_id"], s["interrupted"]) for s in saves] == [("item_a1", True)]
    assert 0 < len(saves[0]["text"]) <= SPOKEN_CHARS_PER_SECOND
    assert items.flush(now=12.0) == []  # saved once


def test_a_text_only_reply_is_saved_when_done():
    items = SidebandItems()
    item = {"id": "item_a1", "type": "message", "role": "assistant", "content": []}
    events = [
        {"type": "response.output_item.added", "response_id": "resp_1", "item": item},
        {"type": "response.output_text.done", "item_id": "item_a1", "text": "Hi."},
        {
            "type": "response.done",
            "response": {
                "id": "resp_1",
                "status": "completed",
                "output": [{"id": "item_a1", "content": [{"type": "output_text"}]}],
            },
        },
    ]

    saves = feed_all(items, events)

    assert [(s["text"], s["interrupted"]) for s in saves] == [("Hi.", False)]


def test_typed_and_inaudible_user_turns_are_saved_and_memory_echoes_are_not():
    items = SidebandItems()
    typed = {
        "type": "conversation.item.added",
        "previous_item_id": "item_a0",
        "item": {
            "id": "item_t1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What about squids?"}],
        },
    }
    echo = {**typed, "item": {**typed["item"], "id": "mem_0123456789abcdef_0"}}
    failed = {"type": "conversation.item.input_audio_transcription.failed", "item_id": "item_u9"}

    saves = feed_all(items, [typed, echo, failed])

    assert [(s["item_id"], s["text"], s["previous_item_id"]) for s in saves] == [
        ("item_t1", "What about squids?", "item_a0"),
        ("item_u9", "", None),
    ]


def test_beta_event_names_are_understood():
    items = SidebandItems()
    feed_all(items, user_turn() + reply_start())

    saves = feed_all(
        items,
        [
            {"type": "response.audio_transcript.done", "item_id": "item_a1", "transcript": "Hi."},
            {"type": "output_audio_buffer.stopped", "response_id": "resp_1"},
        ],
    )

    assert [s["text"] for s in saves] == ["Hi."]


# --- the database side ---------------------------------------------------------------------


def test_the_pages_as_heard_text_wins_whichever_save_comes_first(user):
    call = make_call(user)
    heard = {"item_id": "a1", "role": "assistant", "text": "Octopuses", "interrupted": True}
    monitor = {**heard, "text": "Octopuses have three", "interrupted": True}

    transcript_upsert(call=call, items=[heard])  # the page first
    transcript_fill(call=call, items=[monitor])
    assert Message.objects.get(item_id="a1").text == "Octopuses"

    transcript_fill(call=call, items=[{**monitor, "item_id": "a2"}])  # the monitor first
    transcript_upsert(call=call, items=[{**heard, "item_id": "a2"}])
    assert Message.objects.get(item_id="a2").text == "Octopuses"


def test_the_monitor_marks_a_reply_the_page_saved_whole_as_cut_off(user):
    call = make_call(user)
    transcript_upsert(call=call, items=[{"item_id": "a1", "role": "assistant", "text": REPLY}])

    transcript_fill(
        call=call,
        items=[{"item_id": "a1", "role": "assistant", "text": "Octopuses", "interrupted": True}],
    )
    transcript_fill(call=call, items=[{"item_id": "a1", "role": "assistant", "text": REPLY}])

    message = Message.objects.get(item_id="a1")
    assert (message.text, message.interrupted) == ("Octopuses", True)


def test_context_is_the_latest_turns_within_the_admins_count_and_a_character_cap(user):
    earlier = make_call(user, status="ended")
    for n in range(30):
        make_message(earlier, item_id=f"i{n}", text=f"turn {n}", role="user")
    make_message(earlier, item_id="empty", text="")
    VoiceConfig.objects.update_or_create(pk=1, defaults={"context_messages": 4})

    context = conversation_context(conversation_id=earlier.conversation_id)

    assert [m.text for m in context] == ["turn 26", "turn 27", "turn 28", "turn 29"]
    make_message(earlier, item_id="huge", text="x" * CONTEXT_MAX_CHARS)
    assert [m.item_id for m in conversation_context(conversation_id=earlier.conversation_id)] == [
        "huge"
    ]


def test_context_leaves_out_the_new_calls_own_turns(user):
    earlier = make_call(user, status="ended")
    make_message(earlier, item_id="old", text="my name is Alice")
    current = make_call(user, conversation=earlier.conversation)
    make_message(current, item_id="new", text="what is my name?")

    context = conversation_context(conversation_id=current.conversation_id, exclude_call=current)

    assert [m.item_id for m in context] == ["old"]


def test_memory_is_chained_from_root_in_order(user):
    earlier = make_call(user, status="ended")
    make_message(earlier, item_id="u", role="user", text="my name is Alice")
    make_message(earlier, item_id="a", role="assistant", text="Nice to meet you, Alice.")
    current = make_call(user, conversation=earlier.conversation)

    events = memory_events(
        call=current,
        messages=conversation_context(
            conversation_id=current.conversation_id, exclude_call=current
        ),
    )

    assert [e["previous_item_id"] for e in events] == ["root", events[0]["item"]["id"]]
    assert [(e["item"]["role"], e["item"]["content"]) for e in events] == [
        ("user", [{"type": "input_text", "text": "my name is Alice"}]),
        ("assistant", [{"type": "output_text", "text": "Nice to meet you, Alice."}]),
    ]
    assert all(len(e["item"]["id"]) <= 32 for e in events)


@pytest.mark.django_db
def test_context_is_claimed_once_per_call(user):
    call = make_call(user)

    assert [call_context_claim(call=call) for _ in range(3)] == [True, False, False]
