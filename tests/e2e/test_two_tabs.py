"""Two tabs of one user agree on whether a call is running, through the status socket."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_second_tab_sees_the_call_refuses_a_second_and_can_end_it(context, user, upstream):
    first = context.new_page()
    log_in(first, user.username)
    second = context.new_page()
    second.goto("/")

    first.get_by_test_id("call-start").click()
    expect(first.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)

    expect(second.locator("#call-elsewhere")).to_be_visible()
    expect(second.locator("#call-elsewhere")).to_contain_text("A call is active in another tab")
    expect(second.get_by_test_id("call-start")).to_be_disabled()

    second.locator("#end-elsewhere").click()

    expect(first.get_by_test_id("call-status")).to_have_text("ended")
    expect(first.locator("#call-notice")).to_contain_text("ended from another tab")
    expect(second.locator("#call-elsewhere")).to_be_hidden()
    expect(second.get_by_test_id("call-start")).to_be_enabled()
    expect(first.get_by_test_id("call-start")).to_be_enabled()


def test_a_tab_opened_during_a_call_knows_about_it(context, user, upstream):
    first = context.new_page()
    log_in(first, user.username)
    first.get_by_test_id("call-start").click()
    expect(first.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)

    late = context.new_page()
    late.goto("/")

    expect(late.get_by_test_id("call-start")).to_be_disabled()
    first.get_by_test_id("call-end").click()
    expect(late.get_by_test_id("call-start")).to_be_enabled()
