"""The HTML side: login, the call page's hooks, the admin, the API docs."""

import json
import re

import pytest
from django.test import Client
from django.urls import resolve

from tests.conftest import PASSWORD
from tests.factories import make_call, make_message, make_user
from voice import crypto
from voice.models import ToolSetting, UserApiKey, VoiceConfig
from voice.selectors import voice_config_get
from voice.services.keys import api_key_resolve, api_key_set
from voice.tools import enabled_tools

KEY = "sk-proj-Abcdefghijklmnopqrstuvwx1234wxyz"
PAGE_TESTIDS = [
    "voice-mode",
    "call-start",
    "call-end",
    "call-retry",
    "call-mute",
    "call-ptt",
    "ptt-toggle",
    "call-status",
    "call-error",
    "transcript",
]


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def admin_client_(db) -> Client:
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.login(username=admin.username, password=PASSWORD)
    return client


def test_the_call_page_requires_login(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_login_page_logs_in_and_lands_on_the_call_page(client, user):
    assert client.get("/accounts/login/").status_code == 200

    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert b'data-testid="call-start"' in response.content


def test_the_call_page_carries_every_testid(browser):
    html = browser.get("/").content.decode()

    for testid in PAGE_TESTIDS:
        assert f'data-testid="{testid}"' in html, testid
    assert re.search(r'data-testid="call-status"[^>]*>idle<', html)


def test_the_call_page_shows_the_latest_conversation(browser, user):
    call = make_call(user)
    make_message(call, item_id="u1", role="user", text="<b>escaped?</b>")
    make_message(call, item_id="a1", role="assistant", text="Sure", interrupted=True)

    html = browser.get("/").content.decode()

    assert html.count('data-testid="transcript-item"') == 2
    assert "&lt;b&gt;escaped?&lt;/b&gt;" in html
    assert 'data-role="assistant" data-item-id="a1" data-interrupted="true"' in html


def test_the_call_page_gives_its_modules_the_api_addresses_and_the_hooks(browser, user):
    call = make_call(user)
    make_message(call, item_id="t1", role="user", text="typed words", source="text")

    html = browser.get("/").content.decode()

    for hook in ["conversation-list", "conversation-search", "message-input", "message-send"]:
        assert f'data-testid="{hook}"' in html
    urls = page_urls(html)
    placeholder = "00000000-0000-0000-0000-000000000000"
    assert urls["placeholder"] == placeholder
    assert urls["routes"]["conversation-list"] == "/api/conversations"
    assert urls["routes"]["call-end"] == f"/api/calls/{placeholder}/end"
    assert urls["routes"]["voice-status"] == "/ws/voice"
    assert 'data-item-id="t1" data-source="text"' in html  # shown with the keyboard mark
    assert 'rel="icon" href="/static/img/favicon.svg"' in html


def test_every_address_the_call_page_is_given_is_the_route_it_names(browser):
    routes = page_urls(browser.get("/").content.decode())["routes"]

    socket = routes.pop("voice-status")
    assert resolve(socket, urlconf="voice.routing").url_name == "voice-status"
    for name, path in routes.items():
        assert resolve(path).url_name == name, path


def page_urls(html: str) -> dict:
    """The call page's "voice-urls" json_script, which its modules read (static/js/urls.js)."""
    found = re.search(r'<script id="voice-urls" type="application/json">(.*?)</script>', html)
    assert found, "no voice-urls script"
    return json.loads(found.group(1))


def test_another_users_conversation_is_not_shown(browser, other_user):
    theirs = make_call(other_user)
    make_message(theirs, text="private words")

    html = browser.get(f"/?conversation={theirs.conversation_id}").content.decode()

    assert "private words" not in html


def test_the_schema_and_offline_docs(browser):
    schema = browser.get("/api/schema", HTTP_ACCEPT="application/json")
    docs = browser.get("/api/docs")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/calls/{call_id}/transcript" in schema.json()["paths"]
    assert docs.status_code == 200
    assert not re.search(r'(src|href)="https?://', docs.content.decode())


def test_the_admin_sets_a_users_key_and_never_shows_it(admin_client_, user):
    add = admin_client_.post(
        "/admin/voice/userapikey/add/", {"user": user.pk, "api_key": KEY}, follow=True
    )
    row = UserApiKey.objects.get(user=user)
    pages = [
        add,
        admin_client_.get("/admin/voice/userapikey/"),
        admin_client_.get(f"/admin/voice/userapikey/{row.pk}/change/"),
        admin_client_.get(f"/admin/voice/userapikey/{row.pk}/delete/"),
    ]

    assert api_key_resolve(user=user, config=voice_config_get()).value == KEY
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert KEY not in html and row.encrypted_key not in html
    assert "sk-…wxyz" in pages[1].content.decode()


def test_the_admin_replaces_a_key_and_blank_keeps_it(admin_client_, user):
    row = api_key_set(user=user, api_key=KEY)
    url = f"/admin/voice/userapikey/{row.pk}/change/"

    admin_client_.post(url, {"api_key": ""})
    assert api_key_resolve(user=user, config=voice_config_get()).value == KEY

    admin_client_.post(url, {"api_key": "sk-replacement-000000000000000"})
    assert api_key_resolve(user=user, config=voice_config_get()).value.startswith("sk-replacement")


def test_the_voice_config_is_a_singleton(admin_client_):
    changelist = admin_client_.get("/admin/voice/voiceconfig/")

    assert changelist.status_code == 302
    assert changelist["Location"].endswith("/admin/voice/voiceconfig/1/change/")
    assert admin_client_.get("/admin/voice/voiceconfig/add/").status_code == 403
    assert admin_client_.get("/admin/voice/voiceconfig/1/delete/").status_code == 403
    assert VoiceConfig.objects.count() == 1


def config_form(**changes) -> dict:
    config = voice_config_get()
    data = {
        "realtime_enabled": "on",
        "realtime_model": config.realtime_model,
        "voices": '["marin", "cedar"]',
        "default_voice": "cedar",
        "transcription_model": config.transcription_model,
        "turn_detection": "semantic_vad",
        "vad_threshold": "0.5",
        "vad_silence_duration_ms": "500",
        "vad_prefix_padding_ms": "300",
        "vad_eagerness": "high",
        "vad_interrupt_response": "on",
        "vad_create_response": "on",
        "stt_model": config.stt_model,
        "llm_model": config.llm_model,
        "tts_model": config.tts_model,
        "tts_voices": '["nova"]',
        "instructions": "Be brief.",
        "key_policy": "server",
        "max_call_minutes": "20",
        "idle_hangup_minutes": "3",
        "call_starts_per_minute": "5",
        "context_messages": "10",
        "tool_timeout_s": "5",
        "max_tool_calls_per_call": "7",
    }
    data.update(changes)
    return data


def test_the_admin_edits_the_voice_config(admin_client_):
    response = admin_client_.post("/admin/voice/voiceconfig/1/change/", config_form())

    assert response.status_code == 302, response.content
    config = voice_config_get()
    assert config.voices == ["marin", "cedar"]
    assert config.default_voice == "cedar"
    assert (config.turn_detection, config.vad_eagerness) == ("semantic_vad", "high")
    assert config.max_call_minutes == 20
    assert config.idle_hangup_minutes == 3
    assert config.context_messages == 10
    assert (config.tool_timeout_s, config.max_tool_calls_per_call) == (5, 7)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("voices", "[]"),
        ("voices", '["Marin!"]'),
        ("default_voice", "onyx"),
        ("realtime_model", "GPT Realtime"),
        ("turn_detection", "magic"),
        ("vad_threshold", "2"),
        ("max_call_minutes", "61"),
        ("call_starts_per_minute", "0"),
        ("idle_hangup_minutes", "0"),
        ("idle_hangup_minutes", "61"),
        ("context_messages", "201"),
        ("instructions", "x" * 4001),
        ("tool_timeout_s", "0"),
        ("tool_timeout_s", "121"),
        ("max_tool_calls_per_call", "0"),
    ],
)
def test_the_admin_refuses_an_invalid_voice_config(admin_client_, field, value):
    before = voice_config_get().updated_at

    response = admin_client_.post(
        "/admin/voice/voiceconfig/1/change/", config_form(**{field: value})
    )

    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    assert voice_config_get().updated_at == before


def test_calls_are_read_only_in_the_admin_with_their_messages(admin_client_, user):
    call = make_call(user)
    make_message(call, text="visible in admin")

    page = admin_client_.get(f"/admin/voice/call/{call.pk}/change/")
    search = admin_client_.get("/admin/voice/call/", {"q": user.username})

    assert "visible in admin" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert str(call.pk) in search.content.decode()
    assert admin_client_.get("/admin/voice/call/add/").status_code == 403


def test_the_admin_never_shows_the_key_a_call_keeps(admin_client_, user):
    call = make_call(user, key_source="user", api_key_encrypted=crypto.encrypt(KEY))

    page = admin_client_.get(f"/admin/voice/call/{call.pk}/change/").content.decode()

    assert KEY not in page
    assert call.api_key_encrypted not in page
    assert KEY not in repr(call) and call.api_key_encrypted not in repr(call)


def test_the_admin_lists_every_registered_tool_with_its_description_and_switches_it(
    admin_client_,
):
    page = admin_client_.get("/admin/voice/toolsetting/").content.decode()

    for name in ("end_call", "search_conversations", "current_time"):
        assert name in page
    assert "Search the user&#x27;s earlier conversations" in page
    assert set(ToolSetting.objects.values_list("name", "enabled")) >= {
        ("end_call", True),
        ("search_conversations", True),
        ("current_time", True),
    }
    setting = ToolSetting.objects.get(name="current_time")
    response = admin_client_.post(
        "/admin/voice/toolsetting/",
        {"action": "turn_off", "_selected_action": [setting.pk]},
    )

    assert response.status_code == 302
    assert "current_time" not in {tool.name for tool in enabled_tools()}
    assert admin_client_.get("/admin/voice/toolsetting/add/").status_code == 403
