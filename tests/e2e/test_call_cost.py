"""The call bar shows what a call cost once it ends (`call-cost`), from the call's usage."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_legacy_call import legacy_page
from tests.factories import make_price
from voice.models import Call, Price, VoiceConfig
from voice.selectors import call_cost

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_ended_call_shows_its_cost_and_a_new_call_hides_it(calm_context, user, upstream):
    upstream.configure(stt_latency_ms=0, llm_ttft_ms=0, llm_tokens_per_s=200, tts_ttfb_ms=0)
    Price.objects.all().delete()
    make_price("gpt-4o-mini", text_out="10000")  # a cent a word of the reply: whole cents
    VoiceConfig.objects.update_or_create(pk=1, defaults={"monthly_budget_usd": "5.00"})
    page = legacy_page(calm_context, user)
    status, cost = page.get_by_test_id("call-status"), page.get_by_test_id("call-cost")
    month = page.get_by_test_id("month-spend")
    expect(month).to_have_text("This month: $0.00 of $5.00")

    page.get_by_test_id("call-start").click()
    expect(cost).to_be_hidden()
    assistant_item = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(assistant_item).to_contain_text(re.compile(r"\w"), timeout=15_000)
    expect(status).to_have_text("speaking", timeout=15_000)
    expect(status).to_have_text("listening", timeout=30_000)  # the whole reply was spoken
    page.get_by_test_id("call-end").click()

    expect(status).to_have_text("ended")
    spent = call_cost(call=Call.objects.get(user=user))
    assert spent > 0
    expect(cost).to_have_text(f"Cost: ${spent:.2f}")
    expect(month).to_have_text(f"This month: ${spent:.2f} of $5.00")  # the server's key paid
    page.get_by_test_id("call-start").click()
    expect(cost).to_be_hidden()
    page.get_by_test_id("call-end").click()
