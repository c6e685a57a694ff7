"""`FunctionCalls`, the call monitor's answers to the model's function calls, event by event:
which calls run, what goes back on the sideband and in which order, what waits for a rejoin,
and when `end_call` ends the call."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from realtime import function_calls
from realtime.function_calls import FunctionCalls
from tests.factories import make_call, make_user
from tests.simulator.sdk_types import client_event_problems
from voice.models import Message
from voice.services.tool_calls import tool_item_id

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]


class Sideband:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.down = False
        self.arrived = asyncio.Event()

    async def send(self, event: dict) -> None:
        if event["type"] == "response.create":
            self.arrived.set()  # tried, at least
        if self.down:
            raise OSError("the sideband is down")
        self.sent.append(event)


def function_call(call_id: str, name: str, arguments: dict, item_id: str) -> dict:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "name": name,
        "call_id": call_id,
        "arguments": json.dumps(arguments),
    }


def done(*outputs, response_id="resp_1", status="completed") -> dict:
    return {
        "type": "response.done",
        "response": {"id": response_id, "status": status, "output": list(outputs)},
    }


@pytest.fixture
async def call():
    return await sync_to_async(make_call)(await sync_to_async(make_user)())


async def answered(sideband: Sideband) -> list[dict]:
    await asyncio.wait_for(sideband.arrived.wait(), 10)
    return sideband.sent


async def test_parallel_calls_are_answered_in_order_with_one_response_create(call):
    sideband, previous = Sideband(), {"fc_1": "item_user", "fc_2": "fc_1"}
    calls = FunctionCalls(call=call, previous_of=previous.get)
    await calls.deliver_to(sideband.send)

    calls.feed(
        done(
            function_call("call_a", "current_time", {}, "fc_1"),
            function_call("call_b", "search_conversations", {"query": "lease"}, "fc_2"),
        )
    )

    sent = await answered(sideband)
    first, second = (tool_item_id(call=call, call_id=c) for c in ("call_a", "call_b"))
    assert [(e["type"], e.get("item", {}).get("id")) for e in sent] == [
        ("conversation.item.create", first),
        ("conversation.item.create", second),
        ("response.create", None),
    ]
    assert sent[0]["item"]["call_id"] == "call_a" and json.loads(sent[0]["item"]["output"])["ok"]
    assert [client_event_problems(event) for event in sent] == [[], [], []]  # the SDK's shapes
    lines = {m.item_id: m async for m in Message.objects.filter(call=call)}
    assert lines[first].previous_item_id == "item_user"
    assert lines[second].previous_item_id == first  # after the line of the call before it


async def test_a_cut_off_response_runs_nothing_and_a_repeated_done_runs_once(call):
    sideband = Sideband()
    calls = FunctionCalls(call=call, previous_of=lambda _: None)
    await calls.deliver_to(sideband.send)
    made = function_call("call_a", "current_time", {}, "fc_1")

    calls.feed(done(made, status="cancelled"))
    calls.feed(done(made, response_id="resp_2"))
    calls.feed(done(made, response_id="resp_2"))
    await answered(sideband)
    await calls.close()

    assert [e["type"] for e in sideband.sent] == ["conversation.item.create", "response.create"]
    assert await Message.objects.filter(call=call, role="tool").acount() == 1


async def test_answers_made_while_the_sideband_is_down_go_out_on_the_rejoin(call):
    sideband = Sideband()
    calls = FunctionCalls(call=call, previous_of=lambda _: None)
    await calls.deliver_to(sideband.send)
    sideband.down = True

    calls.feed(done(function_call("call_a", "current_time", {}, "fc_1")))
    assert await answered(sideband) == []  # the answer is made, but could not be sent
    sideband.down = False
    await calls.deliver_to(sideband.send)

    assert [e["type"] for e in sideband.sent] == ["conversation.item.create", "response.create"]


async def goodbye_asked(call) -> tuple[FunctionCalls, asyncio.Task]:
    sideband = Sideband()
    calls = FunctionCalls(call=call, previous_of=lambda _: None)
    await calls.deliver_to(sideband.send)
    calls.feed(done(function_call("call_end", "end_call", {}, "fc_1")))
    await answered(sideband)
    calls.feed({"type": "response.created", "response": {"id": "resp_bye"}})
    return calls, asyncio.create_task(calls.ended())


def goodbye_done(text: str) -> dict:
    part = {"type": "output_audio", "transcript": text}
    spoken = {"id": "item_bye", "type": "message", "content": [part]}
    return done(spoken, response_id="resp_bye")


async def test_end_call_ends_the_call_when_its_goodbye_has_played(call):
    calls, ended = await goodbye_asked(call)

    calls.feed(goodbye_done("Goodbye!"))
    await asyncio.sleep(0.05)
    assert not ended.done()  # generated is not heard: the audio still plays
    calls.feed({"type": "output_audio_buffer.stopped", "response_id": "resp_other"})
    await asyncio.sleep(0.05)
    assert not ended.done()
    calls.feed({"type": "output_audio_buffer.stopped", "response_id": "resp_bye"})

    assert await asyncio.wait_for(ended, 2) == "assistant"


async def test_without_a_playback_event_the_goodbye_ends_the_call_by_its_length(call, monkeypatch):
    monkeypatch.setattr(function_calls, "SPOKEN_CHARS_PER_SECOND", 100)
    monkeypatch.setattr(function_calls, "GOODBYE_GRACE_S", 0.1)
    calls, ended = await goodbye_asked(call)
    loop = asyncio.get_running_loop()
    started = loop.time()

    calls.feed(goodbye_done("x" * 50))  # half a second at this speaking rate

    assert await asyncio.wait_for(ended, 5) == "assistant"
    assert loop.time() - started >= 0.55


async def test_a_worker_that_takes_the_call_over_mid_goodbye_still_ends_it(call, monkeypatch):
    monkeypatch.setattr(function_calls, "GOODBYE_START_S", 0.2)
    first_worker = FunctionCalls(call=call, previous_of=lambda _: None)
    sideband = Sideband()
    await first_worker.deliver_to(sideband.send)
    first_worker.feed(done(function_call("call_end", "end_call", {}, "fc_1")))
    await answered(sideband)
    await first_worker.close()  # that worker stopped before the goodbye was heard

    taken_over = FunctionCalls(call=call, previous_of=lambda _: None)
    await taken_over.deliver_to(Sideband().send)

    assert await asyncio.wait_for(taken_over.ended(), 5) == "assistant"


async def test_a_new_worker_does_not_end_a_call_nobody_said_goodbye_in(call):
    calls = FunctionCalls(call=call, previous_of=lambda _: None)
    await calls.deliver_to(Sideband().send)

    assert not calls.ending


async def test_a_failure_around_the_tool_still_answers_the_model(call, monkeypatch):
    async def database_down(**kwargs):
        raise ConnectionError("database is down")

    monkeypatch.setattr(function_calls, "tool_call_run", database_down)
    sideband = Sideband()
    calls = FunctionCalls(call=call, previous_of=lambda _: None)
    await calls.deliver_to(sideband.send)

    calls.feed(done(function_call("call_a", "current_time", {}, "fc_1")))

    output, create = await answered(sideband)
    assert json.loads(output["item"]["output"])["ok"] is False
    assert create == {"type": "response.create"}
