"""The admin's side of usage: editable prices that new usage is priced at, per-user budgets, and
every billable use filterable, totalled per user and day, and exportable as CSV."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.factories import make_call, make_price, make_usage, make_user
from voice.models import Price, UsageRecord, UserBudget
from voice.services.usage import usage_record


@pytest.fixture
def admin(db) -> Client:
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.login(username="root", password=PASSWORD)
    return client


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_an_edited_price_prices_new_usage_and_leaves_recorded_costs(admin, user):
    [price] = make_price("gpt-4o-mini", text_out="0.60")
    call = make_call(user, mode="legacy")
    record = dict(user=user, call=call, kind="reply", model="gpt-4o-mini", key_source="server")
    before = usage_record(**record, units={"text_out": 1_000_000})

    response = admin.post(
        f"/admin/voice/price/{price.pk}/change/",
        {"model": "gpt-4o-mini", "unit": "text_out", "usd": "1.20"},
    )
    after = usage_record(**record, units={"text_out": 1_000_000})

    assert response.status_code == 302
    before.refresh_from_db()
    assert (before.cost, after.cost) == (Decimal("0.600000"), Decimal("1.200000"))


def test_a_negative_price_is_refused(admin):
    response = admin.post(
        "/admin/voice/price/add/", {"model": "gpt-4o-mini", "unit": "text_in", "usd": "-1"}
    )

    assert response.status_code == 200  # the form again, with the error
    assert not Price.objects.filter(model="gpt-4o-mini", unit="text_in", usd__lt=0).exists()


def test_the_admin_sets_a_users_budget_and_sees_the_months_spending(admin, user):
    make_usage(user, cost="0.750000")

    added = admin.post("/admin/voice/userbudget/add/", {"user": user.pk, "monthly_usd": "5"})
    listing = admin.get("/admin/voice/userbudget/")

    assert added.status_code == 302
    assert UserBudget.objects.get(user=user).monthly_usd == Decimal("5.00")
    assert '<td class="field-spent_this_month">0.75' in listing.content.decode()


def test_the_usage_list_filters_and_totals_and_keeps_every_record(admin, user):
    make_usage(user, cost="0.100000", model="gpt-4o-mini")
    make_usage(user, cost="0.200000", model="gpt-4o-mini", key_source="user")
    make_usage(user, cost="0.400000", model="gpt-realtime-2.1")

    everything = admin.get("/admin/voice/usagerecord/")
    server_only = admin.get("/admin/voice/usagerecord/?key_source__exact=server")
    one_model = admin.get("/admin/voice/usagerecord/?model=gpt-4o-mini")

    assert everything.context["usage_total"] == Decimal("0.700000")
    assert server_only.context["usage_total"] == Decimal("0.500000")
    assert one_model.context["usage_total"] == Decimal("0.300000")
    record = UsageRecord.objects.first()
    assert admin.get(f"/admin/voice/usagerecord/{record.pk}/delete/").status_code == 403


def test_the_summary_totals_per_user_and_day_with_the_lists_filters(admin, user, other_user):
    day = datetime(2026, 3, 14, 9, tzinfo=UTC)
    make_usage(user, cost="0.100000", text_in=100, created_at=day)
    make_usage(user, cost="0.200000", text_in=50, created_at=day)
    make_usage(other_user, cost="0.400000", text_in=1, created_at=day)
    make_usage(other_user, cost="0.800000", model="gpt-realtime-2.1", created_at=day)

    page = admin.get("/admin/voice/usagerecord/summary/?model=gpt-4o-mini")
    export = admin.get("/admin/voice/usagerecord/summary.csv?model=gpt-4o-mini")

    assert [(r["username"], r["cost"], r["units"]["text_in"]) for r in page.context["rows"]] == [
        ("alice", Decimal("0.300000"), 150),
        ("mallory", Decimal("0.400000"), 1),
    ]
    assert page.context["totals"]["cost"] == Decimal("0.700000")
    header, *lines = rows(export)
    assert header[:3] == ["day", "user", "text_in"] and header[-1] == "cost_usd"
    assert [(line[0], line[1], line[2], line[-1]) for line in lines] == [
        ("2026-03-14", "alice", "150", "0.300000"),
        ("2026-03-14", "mallory", "1", "0.400000"),
    ]


def test_the_csv_export_of_selected_records_never_starts_a_cell_with_a_formula(admin):
    sly = make_user("=HYPERLINK(1)")
    record = make_usage(sly, cost="0.010000")

    export = admin.post(
        "/admin/voice/usagerecord/",
        {"action": "export_csv", "_selected_action": [record.pk]},
    )

    assert export["Content-Type"].startswith("text/csv")
    [header, line] = rows(export)
    assert line[header.index("user")] == "'=HYPERLINK(1)"
    assert line[-1] == "0.010000"


def test_the_usage_pages_need_the_admin(client, user):
    client.login(username=user.username, password=PASSWORD)

    for url in ("/admin/voice/usagerecord/summary/", "/admin/voice/usagerecord/summary.csv"):
        assert client.get(url).status_code == 302  # to the admin's login
