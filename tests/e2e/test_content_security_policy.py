"""Every page works under the Content-Security-Policy and Permissions-Policy: a call, the key
dialog, the admin and the API docs run without one violation or header complaint."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, new_context
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Runs in every document before its own scripts; Playwright's init scripts are not subject to
# the page's policy, so the watcher itself cannot be blocked.
REPORT_VIOLATIONS = """
window.cspViolationCount = 0;
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolationCount += 1;
  window.reportCspViolation(
    `${location.pathname}: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` (${event.sourceFile}:${event.lineNumber})`
  );
});
"""
POLICY_WORDS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")


@pytest.fixture
def context(browser, asgi_server):
    """Under the page's real policy (the shared contexts bypass it for Playwright's polling)."""
    context = new_context(browser, asgi_server, bypass_csp=False)
    yield context
    context.close()


@pytest.fixture
def calm_context(calm_browser, asgi_server):
    context = new_context(calm_browser, asgi_server, bypass_csp=False)
    yield context
    context.close()


@pytest.fixture
def violations(context) -> list[str]:
    return watch(context)


def watch(context) -> list[str]:
    """What the browser refused or complained about, from any page of this context."""
    found: list[str] = []
    context.expose_binding("reportCspViolation", lambda _source, text: found.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            found.append(message.text)
            if any(word in message.text for word in POLICY_WORDS)
            else None
        ),
    )
    return found


def status(page):
    return page.get_by_test_id("call-status")


def test_a_call_and_the_key_dialog_run_without_a_violation(context, violations, user, upstream):
    page = context.new_page()
    log_in(page, user.username)  # the login page too

    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("listening", timeout=15_000)
    page.get_by_test_id("call-end").click()
    expect(status(page)).to_have_text("ended")
    page.click("#key-open")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.click("#key-cancel")

    assert violations == []


def test_a_legacy_turn_runs_without_a_violation(calm_context, user, upstream):
    from voice.services.preferences import preference_update

    violations = watch(calm_context)
    upstream.configure(stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=60, tts_ttfb_ms=50)
    preference_update(user=user, mode="legacy")
    page = calm_context.new_page()
    log_in(page, user.username)

    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("speaking", timeout=30_000)  # heard, answered, spoken
    expect(status(page)).to_have_text("listening", timeout=30_000)
    page.get_by_test_id("call-end").click()
    expect(status(page)).to_have_text("ended")

    assert violations == []


def test_the_admin_and_the_api_docs_run_without_a_violation(context, violations, asgi_server):
    admin = make_user(is_staff=True, is_superuser=True)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()

    for path in (
        "/admin/",
        "/admin/voice/voiceconfig/",
        "/admin/voice/call/",
        "/admin/voice/userapikey/add/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{admin.pk}/change/",
    ):
        page.goto(path)
        expect(page.locator("#content")).to_be_visible()
    page.goto("/api/docs")
    operation = page.locator(".opblock").first
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    expect(page.locator(".opblock-body").first).to_be_visible()

    assert violations == []


def test_an_inline_script_is_refused_and_reported(context, violations, user, asgi_server):
    """The watcher above sees what the policy blocks: the call page refuses inline code."""
    page = context.new_page()
    log_in(page, user.username)

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.append(script);
        }"""
    )

    page.wait_for_function("() => window.cspViolationCount > 0")
    assert page.evaluate("window.injected") is None
    assert any("script-src" in text for text in violations), violations
