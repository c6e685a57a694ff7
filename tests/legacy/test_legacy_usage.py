"""What a Legacy call costs, and the budget that stops it: usage recorded from the simulator's
answers, priced from the price table, and refusals once the month's budget is spent."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.utils import timezone

from simulator.recording import mask_authorization
from simulator.script import tokens
from tests.factories import make_call, make_price, make_usage
from tests.legacy.conftest import wav_bytes
from tests.legacy.test_legacy_api import STREAMING, body, events, transcribe
from voice.models import Call, UsageRecord, UserBudget, VoiceConfig

# Prices of a cent or more per token, so that every token shows in the cents.
PRICES = {
    "gpt-4o-mini-transcribe": {"text_in": "10000", "audio_in": "30000", "text_out": "50000"},
    "gpt-4o-mini": {"text_in": "10000", "text_in_cached": "5000", "text_out": "20000"},
    "gpt-4o-mini-tts": {"text_in": "10000", "audio_out": "1000"},
}


@pytest.fixture
def prices(db):
    for model, units in PRICES.items():
        make_price(model, **units)


def cents(amount) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


def spend_the_budget(user, limit="1.00"):
    UserBudget.objects.create(user=user, monthly_usd=Decimal(limit))
    make_usage(user, cost=limit)


@STREAMING
async def test_a_legacy_turn_records_each_upstream_use_at_its_price(
    user, legacy_call, prices, fast_upstream
):
    client = AsyncClient()
    await client.aforce_login(user)
    upload = SimpleUploadedFile("speech.wav", wav_bytes(seconds=1.0), content_type="audio/wav")
    heard = await client.post(
        "/api/legacy/transcriptions", {"audio": upload, "call": legacy_call["id"]}
    )
    text = heard.json()["text"]
    reply = await client.post(
        "/api/legacy/replies",
        {"call": legacy_call["id"], "text": text},
        content_type="application/json",
    )
    said = (await events(reply))[-1][1]["text"]
    speech = await client.post(
        "/api/legacy/speech",
        {"call": legacy_call["id"], "text": said, "format": "wav"},
        content_type="application/json",
    )
    await body(speech)

    records = await sync_to_async(list)(
        UsageRecord.objects.filter(call_id=legacy_call["id"]).order_by("created_at")
    )
    assert [(r.kind, r.model, r.key_source) for r in records] == [
        ("transcription", "gpt-4o-mini-transcribe", "server"),
        ("reply", "gpt-4o-mini", "server"),
        ("speech", "gpt-4o-mini-tts", "server"),
    ]
    heard_record, reply_record, speech_record = records
    # The simulator bills 10 audio tokens a second, and a token per word of the transcript.
    assert (heard_record.audio_in, heard_record.text_out) == (10, len(tokens(text)))
    assert cents(heard_record.cost) == cents(10 * 0.03 + len(tokens(text)) * 0.05)
    sent = fast_upstream.requests("/v1/chat/completions")[-1]["json"]
    prompt = sum(len(tokens(m["content"])) + 4 for m in sent["messages"])
    prompt += sum(len(tokens(json.dumps(t))) for t in sent["tools"])  # the tools offered count
    assert (reply_record.text_in, reply_record.text_out) == (prompt, len(tokens(said)))
    assert cents(reply_record.cost) == cents(prompt * 0.01 + len(tokens(said)) * 0.02)
    spoken = fast_upstream.requests("/v1/audio/speech")[-1]["json"]
    assert spoken["stream_format"] == "sse"  # only that form reports the usage
    words = len(tokens(spoken["input"]))
    assert (speech_record.text_in, speech_record.audio_out) == (words, words * 8)
    assert speech_record.characters == len(spoken["input"])
    assert cents(speech_record.cost) == cents(words * 0.01 + words * 8 * 0.001)


def test_the_call_detail_and_the_usage_report_show_what_the_call_cost(api, user):
    call = make_call(user, mode="legacy", status=Call.Status.ENDED)
    make_usage(user, call=call, cost="0.012345", text_in=100)
    make_usage(user, call=call, cost="0.000655", text_out=20)

    detail = api.get(f"/api/calls/{call.id}").json()
    report = api.get("/api/voice/usage?group=call").json()

    assert detail["cost"] == "0.013000"
    [row] = report["results"]
    assert row["call"] == str(call.id) and row["cost"] == "0.013000"
    assert (row["units"]["text_in"], row["units"]["text_out"]) == (100, 20)


def test_at_the_budget_every_legacy_request_is_refused_before_any_upstream_use(
    api, user, legacy_call, fast_upstream
):
    spend_the_budget(user)

    answers = [
        transcribe(api, legacy_call["id"], wav_bytes()),
        api.post("/api/legacy/replies", {"call": legacy_call["id"], "text": "hi"}, format="json"),
        api.post(
            "/api/legacy/speech", {"call": legacy_call["id"], "text": "Hello."}, format="json"
        ),
    ]

    first_of_next_month = (timezone.now().replace(day=28) + timedelta(days=4)).replace(day=1)
    for response in answers:
        assert response.status_code == 402, response.content
        error = response.json()
        assert error["error"]["code"] == "budget_exceeded"
        assert error["resets_at"] == first_of_next_month.date().isoformat()
        assert f"{first_of_next_month:%B %Y}" in error["error"]["message"]
    assert fast_upstream.requests("/v1/audio/transcriptions") == []
    assert fast_upstream.requests("/v1/chat/completions") == []
    assert fast_upstream.requests("/v1/audio/speech") == []


def test_a_legacy_call_is_not_started_past_the_configurations_budget(api, user, fast_upstream):
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": Decimal("2.00")})
    make_usage(user, cost="1.50")
    make_usage(user, cost="0.50")

    response = api.post("/api/legacy/calls", {}, format="json")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert not Call.objects.filter(user=user).exists()


def test_last_months_spending_and_own_key_spending_do_not_count(api, user, fast_upstream):
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": Decimal("1.00")})
    this_month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = this_month - timedelta(seconds=1)
    make_usage(user, cost="5.00", created_at=last_month)
    make_usage(user, cost="5.00", key_source="user")

    assert api.post("/api/legacy/calls", {}, format="json").status_code == 201


def test_a_user_paying_with_their_own_key_is_not_refused_but_recorded(
    api, user, prices, fast_upstream
):
    spend_the_budget(user)
    own_key = {"api_key": "sk-own-key-000000000000000000own"}
    assert api.put("/api/voice/key", own_key, format="json").status_code == 200
    call = api.post("/api/legacy/calls", {}, format="json")

    response = transcribe(api, call.json()["id"], wav_bytes())

    assert call.status_code == 201 and response.status_code == 200
    record = UsageRecord.objects.get(call_id=call.json()["id"])
    assert (record.kind, record.key_source) == ("transcription", "user")
    assert record.cost > 0
    received = fast_upstream.requests("/v1/audio/transcriptions")[-1]
    assert received["authorization"] == mask_authorization(
        "Bearer sk-own-key-000000000000000000own"
    )


def test_an_unlimited_override_lifts_the_configurations_budget(api, user, fast_upstream):
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": Decimal("0")})
    UserBudget.objects.create(user=user, monthly_usd=None)

    assert api.post("/api/legacy/calls", {}, format="json").status_code == 201


# --- speech and replies only inside the user's live Legacy call -------------------------------


def test_speech_without_a_call_is_refused(api, fast_upstream):
    response = api.post("/api/legacy/speech", {"text": "Hello."}, format="json")

    assert response.status_code == 400
    assert "call" in response.json()["fields"]
    assert fast_upstream.requests("/v1/audio/speech") == []


@pytest.mark.parametrize("path", ["/api/legacy/speech", "/api/legacy/replies"])
def test_speech_and_replies_for_an_ended_call_are_call_ended(api, user, fast_upstream, path):
    ended = make_call(user, mode="legacy", status=Call.Status.ENDED)

    response = api.post(path, {"call": str(ended.id), "text": "Hello."}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_ended"


@pytest.mark.parametrize("path", ["/api/legacy/speech", "/api/legacy/replies"])
def test_speech_and_replies_for_a_realtime_call_are_refused(api, user, fast_upstream, path):
    realtime = make_call(user, mode="realtime")

    response = api.post(path, {"call": str(realtime.id), "text": "Hello."}, format="json")

    assert response.status_code == 400
    assert fast_upstream.requests("/v1/audio/speech") == []


def test_speech_for_another_users_call_is_not_found(api, other_user, fast_upstream):
    theirs = make_call(other_user, mode="legacy")

    response = api.post(
        "/api/legacy/speech", {"call": str(theirs.id), "text": "Hello."}, format="json"
    )

    assert response.status_code == 404
