"""Schemathesis against /api/schema: every operation, authenticated with a token, against
daphne serving the test database with the simulator as OpenAI (so no endpoint waits on a
network). Any 5xx fails, and so does any 4xx not in docs/api.md's shape with a documented code.

Runs in both test legs: the bugs a fuzzer finds are often the database's own limits
(PostgreSQL refuses integers past bigint where SQLite takes them: it found one in ?before=).
"""

import itertools

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import make_call, make_conversation, make_message, make_user
from tests.fuzz.conftest import EXAMPLES, RANDOM, statuses
from voice.errors import ErrorCode
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTED = {str(code): code.status for code in ErrorCode}
_turns = itertools.count()


@pytest.fixture
def fuzz_data(asgi_server, simulator):
    """A user with a token, a live Legacy call, an ended call with a transcript, and a
    conversation: cases use their ids half the time, so they reach past the 404s."""
    simulator.reset()
    simulator.configure(stt_latency_ms=0, llm_ttft_ms=0, llm_tokens_per_s=5000, tts_ttfb_ms=0)
    user = make_user("fuzzer")
    live = make_call(user, mode="legacy", status=Call.Status.ACTIVE)
    ended = make_call(user, status=Call.Status.ENDED, conversation=live.conversation)
    make_message(ended, item_id="item_fuzz_1", text="Hello")
    return {
        "token": Token.objects.create(user=user).key,
        "call": [str(live.id), str(ended.id)],
        "conversation": [str(live.conversation_id), str(make_conversation(user).id)],
    }


def _load_schema():
    """The schema /api/schema serves, built in-process (pytest-django has set Django up by
    import time; schemathesis's fixture-based loader does not run under this pytest)."""
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(public=True))
    loaded.config.update(request_timeout=30)
    # Read event streams to the end (schemathesis stops after 20 events and hangs up): a reply
    # cut off by the client is saved after the response, and that write must not race the
    # database flush between tests. Hanging up mid-reply has its own test.
    loaded.config.max_stream_events = 100_000
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
    )
    return loaded


# The raw form of POST /api/realtime/session: its body is text, sent as it is.
schemathesis.serializer.alias("application/sdp", "text/plain")
schema = _load_schema()


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_no_request_is_a_server_error_and_every_refusal_has_the_error_shape(
    case, fuzz_data, asgi_server
):
    # Every other case uses the user's real ids (the rest keep random ones and meet 404s).
    # Not drawn with `given`: schemathesis adds its boundary-value cases only without one.
    turn = next(_turns)
    if turn % 2:
        use_real_ids(case, fuzz_data, pick=turn // 2 % 2)

    auth = {"Authorization": f"Token {fuzz_data['token']}"}
    response = case.call(base_url=asgi_server, headers=auth)
    statuses[response.status_code] += 1

    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
    if case.method.upper() != "HEAD":  # a HEAD answer has no body, by definition
        assert_error_shape(response, case)


def use_real_ids(case, data: dict, pick: int) -> None:
    """The live call or the ended one (the first conversation or the empty one) by `pick`."""
    for name, ids in (("call_id", data["call"]), ("conversation_id", data["conversation"])):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = ids[pick]
    if isinstance(case.body, dict):
        for name in ("call", "conversation"):
            if name in case.body:
                case.body[name] = data[name][pick]


def assert_error_shape(response, case) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} not JSON: {response.headers} {response.content[:200]!r}"
            f" for {case.as_curl_command()}"
        ) from None
    assert isinstance(body, dict) and set(body["error"]) == {"code", "message"}, body
    code, message = body["error"]["code"], body["error"]["message"]
    assert DOCUMENTED.get(code) == response.status_code, (response.status_code, body)
    assert isinstance(message, str) and message.strip(), body
