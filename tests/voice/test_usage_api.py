"""GET /api/voice/usage: a user's own usage per day or per call with the month's budget, staff
across users, clear errors for bad queries; and the pricing rules behind the figures."""

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.factories import make_call, make_price, make_usage, make_user
from voice.models import Price, UserBudget, VoiceConfig
from voice.selectors import price_table
from voice.services.usage import usage_cost, usage_record

TODAY = timezone.now().astimezone(UTC).date()


def at(day, hour=12, minute=0, second=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def staff(db):
    return make_user("root", is_staff=True)


@pytest.fixture
def staff_api(staff) -> APIClient:
    client = APIClient()
    client.login(username=staff.username, password=PASSWORD)
    return client


def test_a_user_sees_only_their_own_usage(api, user, other_user):
    make_usage(user, cost="0.010000", text_in=10)
    make_usage(other_user, cost="9.000000", text_in=999)

    data = api.get("/api/voice/usage").json()

    assert data["currency"] == "USD"
    assert data["total_cost"] == "0.010000"
    [today] = data["results"]
    assert today == {
        "date": TODAY.isoformat(),
        "cost": "0.010000",
        "units": {
            "text_in": 10,
            "text_in_cached": 0,
            "text_out": 0,
            "audio_in": 0,
            "audio_in_cached": 0,
            "audio_out": 0,
            "audio_seconds": "0.000",
            "characters": 0,
        },
    }


def test_a_user_cannot_ask_for_someone_elses_usage(api, other_user):
    for user in (str(other_user.pk), "all"):
        response = api.get(f"/api/voice/usage?user={user}")

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_staff_see_one_user_or_everyone(staff_api, user, other_user):
    make_usage(user, cost="0.010000")
    make_usage(other_user, cost="0.020000")

    one = staff_api.get(f"/api/voice/usage?user={other_user.pk}").json()
    everyone = staff_api.get("/api/voice/usage?user=all").json()
    own = staff_api.get("/api/voice/usage").json()

    assert one["total_cost"] == "0.020000" and one["budget"] is not None
    assert everyone["total_cost"] == "0.030000" and everyone["budget"] is None
    assert own["total_cost"] == "0.000000"


def test_staff_asking_for_an_unknown_user_is_404(staff_api):
    response = staff_api.get("/api/voice/usage?user=987654321")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",
        "from=yesterday",
        "to=2026-02-30",
        "from=2026-05-02&to=2026-05-01",
        "from=2024-01-01&to=2026-01-01",
        "group=week",
        "user=alice",
        "user=99999999999999999999999",
    ],
)
def test_a_bad_query_is_a_clear_400(api, query):
    response = api.get(f"/api/voice/usage?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["message"]


def test_usage_per_day_counts_whole_utc_days_between_from_and_to(api, user):
    first, second = TODAY - timedelta(days=3), TODAY - timedelta(days=2)
    make_usage(user, cost="0.100000", created_at=at(first, 0, 0, 0))
    make_usage(user, cost="0.200000", created_at=at(first, 23, 59, 59))
    make_usage(user, cost="0.400000", created_at=at(second))
    make_usage(user, cost="0.800000", created_at=at(second + timedelta(days=1), 0, 0, 0))

    data = api.get(f"/api/voice/usage?from={first}&to={second}&group=day").json()

    assert [(row["date"], row["cost"]) for row in data["results"]] == [
        (first.isoformat(), "0.300000"),
        (second.isoformat(), "0.400000"),
    ]
    assert data["total_cost"] == "0.700000"


def test_usage_per_call_sums_each_calls_records(api, user):
    one, two = make_call(user, status="ended"), make_call(user)
    make_usage(user, call=one, cost="0.100000", audio_out=10)
    make_usage(user, call=one, cost="0.050000", audio_out=5)
    make_usage(user, call=two, cost="0.001000", characters=30)

    data = api.get("/api/voice/usage?group=call").json()

    assert [(row["call"], row["cost"]) for row in data["results"]] == [
        (str(one.id), "0.150000"),
        (str(two.id), "0.001000"),
    ]
    assert data["results"][0]["units"]["audio_out"] == 15


def test_the_budget_counts_this_months_server_key_spending(api, user):
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": Decimal("5")})
    make_usage(user, cost="1.250000")
    make_usage(user, cost="3.000000", key_source="user")

    budget = api.get("/api/voice/usage").json()["budget"]

    next_month = (TODAY.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert budget == {
        "monthly_usd": "5.00",
        "spent_usd": "1.250000",
        "resets_at": next_month.isoformat(),
    }


def test_a_users_override_replaces_the_configurations_budget(api, user):
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": Decimal("5")})
    UserBudget.objects.create(user=user, monthly_usd=None)

    assert api.get("/api/voice/usage").json()["budget"]["monthly_usd"] is None


def test_usage_needs_a_login(anonymous):
    assert anonymous.get("/api/voice/usage").status_code in (401, 403)


# --- prices ------------------------------------------------------------------------------------


def test_cost_is_units_times_price_to_the_micro_dollar(db):
    make_price("whisper-1", audio_seconds="0.006")
    make_price("tts-1", characters="15")

    assert usage_cost(
        units={"audio_seconds": Decimal("90")}, prices=price_table(model="whisper-1")
    ) == Decimal("0.009000")  # a minute and a half at $0.006 a minute
    assert usage_cost(units={"characters": 7}, prices=price_table(model="tts-1")) == Decimal(
        "0.000105"
    )


def test_a_dated_snapshot_is_priced_as_its_model_unless_it_has_its_own_prices(db):
    Price.objects.all().delete()
    make_price("gpt-4o-mini", text_out="0.60")
    make_price("gpt-4o-mini-tts", audio_out="12")
    make_price("gpt-4o-mini-tts-2030-01-01", audio_out="6")

    assert price_table(model="gpt-4o-mini-tts-2025-12-15") == {"audio_out": Decimal("12")}
    assert price_table(model="gpt-4o-mini-tts-2030-01-01") == {"audio_out": Decimal("6")}
    assert price_table(model="gpt-4o-mini-transcribe") == {}  # another model, not a snapshot


def test_the_seeded_prices_are_openais_for_the_configurations_models(db):
    Price.objects.all().delete()
    seed = importlib.import_module("voice.migrations.0005_seed_prices")
    make_price("gpt-4o-mini", text_in="0.20")  # an admin's edit is kept

    seed.seed_prices(apps, None)

    config = VoiceConfig()
    for model in (config.realtime_model, config.stt_model, config.llm_model, config.tts_model):
        assert price_table(model=model), model
    assert price_table(model="gpt-realtime-2.1")["audio_out"] == Decimal("64")
    assert price_table(model="gpt-4o-mini")["text_in"] == Decimal("0.20")


def test_usage_of_an_unpriced_model_is_recorded_at_zero_and_logged(user, caplog):
    call = make_call(user)

    record = usage_record(
        user=user,
        call=call,
        kind="realtime_response",
        model="gpt-realtime-9",
        key_source="server",
        units={"audio_out": 100},
    )

    assert record.cost == Decimal("0")
    assert "gpt-realtime-9 has no price" in caplog.text
