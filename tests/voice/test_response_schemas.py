"""Every JSON endpoint's real answers against the OpenAPI schema /api/schema serves.

Each operation the schema lists with a JSON success response has a case below: it calls the
endpoint as a logged-in user with real rows (an ended call with a transcript, a tool item and
usage; a live call where one is needed; the simulator as OpenAI) and the body must match the
schema for its status: no field the schema does not declare, none it requires missing, every
type and null as declared. A new endpoint without a case fails
`test_every_json_operation_has_a_case`.

drf-spectacular writes OpenAPI 3.0: `nullable` is turned into JSON Schema's `null` type here,
and objects are closed (`additionalProperties: false` unless the schema says otherwise), since
an undeclared field is exactly the drift this guards against.
"""

import asyncio
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from tests.factories import make_call, make_message, make_usage
from tests.legacy.conftest import wav_bytes
from tests.realtime.conftest import _browser_like_offer
from voice.models import Call

JSON = "application/json"

# Operations whose success is not a JSON body, and why: they need no case.
NOT_JSON = {
    "conversations_export_all": "a zip file",
    "conversations_destroy": "204, no body",
    "voice_token_destroy": "204, no body",
    "legacy_replies_create": "server-sent events",
    "conversations_messages_create": "server-sent events",
    "legacy_speech_create": "audio",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(public=True)


def _operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (method, path template, operation)."""
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def _json_successes(operation: dict[str, Any]) -> list[str]:
    return [
        status
        for status, response in operation["responses"].items()
        if status.startswith("2") and JSON in response.get("content", {})
    ]


def test_every_json_operation_has_a_case(schema):
    operations = _operations(schema)
    with_json = {op_id for op_id, (*_, op) in operations.items() if _json_successes(op)}

    assert with_json - CASES.keys() == set(), "JSON endpoints without a case"
    assert CASES.keys() - with_json == set(), "cases for operations that answer no JSON"
    # The exemptions stay true: each names an operation that exists and answers no JSON.
    assert NOT_JSON.keys() <= operations.keys()
    assert NOT_JSON.keys() & with_json == set()


# --- the cases: each calls one operation and returns its response(s) -------------------------


@pytest.fixture
def data(user) -> dict[str, Any]:
    """An ended call with a transcript (a user turn, a tool item, the reply) and its usage."""
    call = make_call(user, status=Call.Status.ENDED, ended_reason="user")
    make_message(call, item_id="u1", text="What time is it?")
    make_message(
        call,
        item_id="t1",
        role="tool",
        text="Checked the time",
        previous_item_id="u1",
        tool={"name": "current_time", "arguments": {"timezone": "UTC"}, "ok": True},
    )
    make_message(call, item_id="a1", role="assistant", text="Noon.", previous_item_id="t1")
    make_usage(user, cost="0.012345", call=call)
    return {"call": call, "conversation": call.conversation}


def _live_call(user, **fields) -> Call:
    """A live call in a conversation of its own (a Legacy one: ending it calls no upstream)."""
    fields.setdefault("mode", "legacy")
    return make_call(user, **fields)


Case = Callable[[APIClient, dict[str, Any], pytest.FixtureRequest], Any]


def _legacy_transcription(api, data, request):
    request.getfixturevalue("upstream")
    call = api.post("/api/legacy/calls", {}, format="json").json()
    upload = SimpleUploadedFile("speech.wav", wav_bytes(), content_type="audio/wav")
    return api.post(
        "/api/legacy/transcriptions", {"audio": upload, "call": call["id"]}, format="multipart"
    )


def _legacy_call(api, data, request):
    request.getfixturevalue("upstream")
    return api.post("/api/legacy/calls", {}, format="json")


def _token_before_and_after_one_is_made(api, data, request):
    before = api.get("/api/voice/token")
    api.post("/api/voice/token")
    return [before, api.get("/api/voice/token")]


def _realtime_session(api, data, request):
    request.getfixturevalue("upstream")
    offer = asyncio.run(_browser_like_offer())
    return api.post("/api/realtime/session", {"sdp": offer}, format="json")


CASES: dict[str, Case] = {
    "calls_list": lambda api, data, request: api.get("/api/calls"),
    "calls_retrieve": lambda api, data, request: [
        api.get(f"/api/calls/{data['call'].id}"),
        api.get(f"/api/calls/{data['call'].id}?limit=1"),  # a page with earlier items
    ],
    "calls_active_create": lambda api, data, request: api.post(
        f"/api/calls/{_live_call(data['call'].user, status=Call.Status.CONNECTING).id}/active"
    ),
    "calls_end_create": lambda api, data, request: api.post(
        f"/api/calls/{_live_call(data['call'].user).id}/end", {}, format="json"
    ),
    "calls_transcript_create": lambda api, data, request: api.post(
        f"/api/calls/{_live_call(data['call'].user).id}/transcript",
        {"items": [{"item_id": "x1", "role": "user", "text": "Hi"}]},
        format="json",
    ),
    "conversations_list": lambda api, data, request: [
        api.get("/api/conversations"),
        api.get("/api/conversations?search=noon"),  # with snippets
    ],
    "conversations_create": lambda api, data, request: api.post(
        "/api/conversations", {"title": "Plans"}, format="json"
    ),
    "conversations_retrieve": lambda api, data, request: api.get(
        f"/api/conversations/{data['conversation'].id}"
    ),
    "conversations_partial_update": lambda api, data, request: api.patch(
        f"/api/conversations/{data['conversation'].id}", {"title": "Time"}, format="json"
    ),
    "conversation_export": lambda api, data, request: api.get(
        f"/api/conversations/{data['conversation'].id}/export?format=json"
    ),
    "legacy_calls_create": _legacy_call,
    "legacy_transcriptions_create": _legacy_transcription,
    "realtime_session_create": _realtime_session,
    "voice_config_retrieve": lambda api, data, request: api.get("/api/voice/config"),
    "voice_preferences_retrieve": lambda api, data, request: api.get("/api/voice/preferences"),
    "voice_preferences_partial_update": lambda api, data, request: api.patch(
        "/api/voice/preferences", {"mode": "legacy", "push_to_talk": True}, format="json"
    ),
    "voice_key_retrieve": lambda api, data, request: api.get("/api/voice/key"),
    "voice_key_update": lambda api, data, request: api.put(
        "/api/voice/key", {"api_key": "sk-test-0000000000000000000000abcd"}, format="json"
    ),
    "voice_key_destroy": lambda api, data, request: api.delete("/api/voice/key"),
    "voice_token_retrieve": _token_before_and_after_one_is_made,
    "voice_token_create": lambda api, data, request: api.post("/api/voice/token"),
    "voice_usage_retrieve": lambda api, data, request: [
        api.get("/api/voice/usage"),
        api.get("/api/voice/usage?group=call"),
    ],
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation_id", sorted(CASES))
def test_real_responses_match_the_schema(operation_id, api, data, schema, request):
    method, template, operation = _operations(schema)[operation_id]
    answered = CASES[operation_id](api, data, request)
    responses = answered if isinstance(answered, list) else [answered]

    for response in responses:
        status = str(response.status_code)
        assert status in _json_successes(operation), (status, response.content[:300])
        assert response.request["REQUEST_METHOD"] == method
        assert _path_pattern(template).fullmatch(response.request["PATH_INFO"]), template
        body_schema = operation["responses"][status]["content"][JSON]["schema"]
        problems = schema_problems(response.json(), body_schema, schema)
        assert problems == [], f"{operation_id} {status}: {problems}"


def _path_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))


def schema_problems(body: Any, body_schema: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    document = {
        **_json_schema(body_schema),
        "components": {"schemas": _json_schema(schema["components"]["schemas"], mapping=True)},
    }
    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def _json_schema(node: Any, *, mapping: bool = False) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable` as a `null` alternative, objects closed.
    `mapping`: `node` maps names to schemas (properties, components), not a schema itself."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if mapping:
        return {name: _json_schema(value) for name, value in node.items()}
    converted = {
        key: _json_schema(value, mapping=key == "properties") for key, value in node.items()
    }
    if converted.get("type") == "object" and "properties" in converted:
        converted.setdefault("additionalProperties", False)
    if converted.pop("nullable", False):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_a_decimal_string_and_a_null_pass_and_an_undeclared_field_fails():
    """The conversion itself: what the schema allows passes, a stray or missing field fails."""
    schema = {
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {
                        "cost": {"type": "string", "format": "decimal"},
                        "ended_at": {"type": "string", "format": "date-time", "nullable": True},
                    },
                    "required": ["cost", "ended_at"],
                }
            }
        }
    }
    thing = {"$ref": "#/components/schemas/Thing"}

    assert schema_problems({"cost": str(Decimal("0.5")), "ended_at": None}, thing, schema) == []
    assert schema_problems({"cost": "1", "ended_at": None, "extra": 1}, thing, schema)
    assert schema_problems({"cost": "1"}, thing, schema)
