"""What a Realtime call costs: the monitor's sideband events fed to `CallTranscriber`, priced
from the price table, and the budget at a call's start and during it."""

from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from realtime.transcriber import CallTranscriber
from simulator.recording import mask_authorization
from tests.factories import make_call, make_price, make_usage
from voice.models import Call, UsageRecord, UserBudget
from voice.services.keys import api_key_set

STREAMING = pytest.mark.django_db(transaction=True)

# gpt-realtime-2.1 as OpenAI publishes it (USD per 1M tokens).
REALTIME_PRICES = {
    "text_in": "4",
    "text_in_cached": "0.40",
    "text_out": "24",
    "audio_in": "32",
    "audio_in_cached": "0.40",
    "audio_out": "64",
}
USAGE = {  # the shape of OpenAI's RealtimeResponseUsage; cached tokens are part of the input
    "total_tokens": 7800,
    "input_tokens": 6000,
    "output_tokens": 1800,
    "input_token_details": {
        "text_tokens": 1000,
        "audio_tokens": 5000,
        "image_tokens": 0,
        "cached_tokens": 1200,
        "cached_tokens_details": {"text_tokens": 200, "audio_tokens": 1000, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 300, "audio_tokens": 1500},
}
# 800×4 + 200×0.40 + 4000×32 + 1000×0.40 + 300×24 + 1500×64, per million.
USAGE_COST = Decimal("0.234880")


def response_done(response_id="resp_1", usage=USAGE) -> dict:
    return {
        "type": "response.done",
        "response": {"id": response_id, "status": "completed", "output": [], "usage": usage},
    }


@pytest.fixture
def realtime_call(user, upstream):
    make_price("gpt-realtime-2.1", **REALTIME_PRICES)
    return make_call(user, model="gpt-realtime-2.1")


@STREAMING
async def test_response_done_records_its_usage_at_the_models_prices(
    realtime_call, worker_thread_db
):
    transcriber = CallTranscriber(call=realtime_call)

    await transcriber.on_event(response_done())

    record = await UsageRecord.objects.aget(call=realtime_call)
    assert (record.kind, record.model, record.key_source) == (
        "realtime_response",
        "gpt-realtime-2.1",
        "server",
    )
    assert record.units == {
        "text_in": 800,
        "text_in_cached": 200,
        "text_out": 300,
        "audio_in": 4000,
        "audio_in_cached": 1000,
        "audio_out": 1500,
        "audio_seconds": Decimal("0.000"),
        "characters": 0,
    }
    assert record.cost == USAGE_COST
    assert transcriber.over_budget is False


@STREAMING
async def test_a_replayed_response_is_counted_once(realtime_call, worker_thread_db):
    transcriber = CallTranscriber(call=realtime_call)

    for _ in range(2):
        await transcriber.on_event(response_done("resp_same"))
    await CallTranscriber(call=realtime_call).on_event(response_done("resp_same"))  # a takeover

    assert await UsageRecord.objects.filter(call=realtime_call).acount() == 1


@STREAMING
async def test_the_input_transcription_is_billed_at_the_transcription_models_prices(
    realtime_call, worker_thread_db
):
    await sync_to_async(make_price)("gpt-4o-mini-transcribe", audio_in="3", text_out="5")
    event = {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_u1",
        "content_index": 0,
        "transcript": "Hello there.",
        "usage": {
            "type": "tokens",
            "input_tokens": 40,
            "output_tokens": 4,
            "total_tokens": 44,
            "input_token_details": {"text_tokens": 0, "audio_tokens": 40},
        },
    }

    await CallTranscriber(call=realtime_call).on_event(event)

    record = await UsageRecord.objects.aget(call=realtime_call)
    assert (record.kind, record.model) == ("realtime_transcription", "gpt-4o-mini-transcribe")
    assert (record.audio_in, record.text_out) == (40, 4)
    assert record.cost == Decimal("0.000140")  # 40 × $3 + 4 × $5, per million


@STREAMING
async def test_a_response_that_crosses_the_budget_marks_the_call_over_budget(
    user, realtime_call, worker_thread_db
):
    await UserBudget.objects.acreate(user=user, monthly_usd=Decimal("0.30"))
    transcriber = CallTranscriber(call=realtime_call)

    await transcriber.on_event(response_done("resp_1"))
    under = transcriber.over_budget
    await transcriber.on_event(response_done("resp_2"))

    assert (under, transcriber.over_budget) == (False, True)  # $0.23, then $0.47 of $0.30


@STREAMING
async def test_a_call_on_the_users_own_key_is_recorded_but_never_over_budget(
    user, realtime_call, worker_thread_db
):
    await sync_to_async(api_key_set)(user=user, api_key="sk-user-own-key-0000000000000000")
    await UserBudget.objects.acreate(user=user, monthly_usd=Decimal("0"))
    transcriber = CallTranscriber(call=realtime_call)

    await transcriber.on_event(response_done())

    record = await UsageRecord.objects.aget(call=realtime_call)
    assert (record.key_source, record.cost) == ("user", USAGE_COST)
    assert transcriber.over_budget is False


@STREAMING
async def test_events_without_usage_record_nothing(realtime_call, worker_thread_db):
    transcriber = CallTranscriber(call=realtime_call)

    await transcriber.on_event({"type": "response.done", "response": {"id": "resp_1"}})
    await transcriber.on_event({"type": "input_audio_buffer.speech_started"})

    assert await UsageRecord.objects.filter(call=realtime_call).acount() == 0


# --- the budget at a call's start ----------------------------------------------------------


def start(api, offer_sdp):
    return api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")


def test_a_realtime_call_is_refused_at_the_budget_before_anything_goes_upstream(
    api, user, upstream, offer_sdp
):
    UserBudget.objects.create(user=user, monthly_usd=Decimal("1.00"))
    make_usage(user, cost="1.00", kind="realtime_response")

    response = start(api, offer_sdp)

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert response.json()["resets_at"]
    assert upstream.requests("/v1/realtime/calls") == []
    assert not Call.objects.filter(user=user).exists()


def test_a_realtime_call_on_the_users_own_key_starts_past_the_budget(
    api, user, upstream, offer_sdp
):
    UserBudget.objects.create(user=user, monthly_usd=Decimal("1.00"))
    make_usage(user, cost="1.00", kind="realtime_response")
    api_key_set(user=user, api_key="sk-user-own-key-000000000000000user")

    response = start(api, offer_sdp)

    assert response.status_code == 201, response.content
    [received] = upstream.requests("/v1/realtime/calls")
    assert received["authorization"] == mask_authorization(
        "Bearer sk-user-own-key-000000000000000user"
    )
