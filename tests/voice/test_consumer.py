"""/ws/voice: authenticated (session or token), origin-checked, only ever the user's own
events, closed when its session logs out or its token is revoked, calm with bad frames."""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD
from tests.factories import make_user
from voice.consumers import CLOSE_MESSAGE_TOO_BIG, CLOSE_NOT_AUTHENTICATED
from voice.services.calls import call_check_and_start, call_end
from voice.services.transcripts import transcript_upsert
from voiceproject.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]
ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")


def logged_in_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def cookie_of(client: Client) -> bytes:
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def session_cookie(user) -> bytes:
    return cookie_of(logged_in_client(user))


async def connect(headers, path="/ws/voice") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    return communicator


async def open_with(headers) -> WebsocketCommunicator:
    communicator = await connect(headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def open_socket(user) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)(user)
    return await open_with([ORIGIN, HOST, (b"cookie", cookie)])


async def refused(headers, path="/ws/voice") -> int | None:
    """The close code of a refused handshake (None when the origin check denied it)."""
    communicator = await connect(headers, path)
    connected, code = await communicator.connect(timeout=5)
    assert not connected
    return code


async def test_an_anonymous_socket_is_closed_with_4401():
    communicator = await connect([ORIGIN, HOST])

    connected, code = await communicator.connect(timeout=5)

    assert not connected
    assert code == CLOSE_NOT_AUTHENTICATED


async def test_a_foreign_origin_is_refused():
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)
    communicator = await connect([(b"origin", b"https://evil.example"), HOST, (b"cookie", cookie)])

    connected, _ = await communicator.connect(timeout=5)

    assert not connected


async def test_the_user_hears_their_call_status_and_transcript():
    user = await sync_to_async(make_user)()
    socket = await open_socket(user)

    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    created = await socket.receive_json_from(timeout=5)
    await sync_to_async(transcript_upsert)(
        call=call, items=[{"item_id": "u1", "role": "user", "text": "hi"}]
    )
    item = await socket.receive_json_from(timeout=5)
    await sync_to_async(call_end)(call=call, reason="user")
    ended = await socket.receive_json_from(timeout=5)

    assert created["type"] == "call.status"
    assert created["call"]["id"] == str(call.id)
    assert created["call"]["status"] == "connecting"
    assert item["type"] == "call.transcript"
    assert item["call_id"] == str(call.id)
    assert item["item"]["item_id"] == "u1"
    assert item["item"]["text"] == "hi"
    assert ended["call"]["status"] == "ended"
    await socket.disconnect()


async def test_nobody_hears_another_users_events():
    alice, mallory = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    alice_socket = await open_socket(alice)
    mallory_socket = await open_socket(mallory)

    await sync_to_async(call_check_and_start)(user=alice, mode="realtime")
    await alice_socket.receive_json_from(timeout=5)  # delivered to alice …
    mallory_call = await sync_to_async(call_check_and_start)(user=mallory, mode="legacy")
    own = await mallory_socket.receive_json_from(timeout=5)

    # … and mallory's first message is her own call: alice's event never reached her.
    assert own["call"]["id"] == str(mallory_call.id)
    assert await mallory_socket.receive_nothing(timeout=0.2)
    await alice_socket.disconnect()
    await mallory_socket.disconnect()


async def test_every_open_page_of_the_user_hears_the_change():
    user = await sync_to_async(make_user)()
    sockets = [await open_socket(user) for _ in range(3)]

    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    received = await asyncio.gather(*(s.receive_json_from(timeout=5) for s in sockets))

    assert {r["call"]["id"] for r in received} == {str(call.id)}
    for socket in sockets:
        await socket.disconnect()


# --- the origin: scheme, host and port --------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (b"http://localhost:8001", b"localhost:8000"),  # same host, another port
        (b"https://localhost", b"localhost"),  # same host, another scheme
        (b"http://localhost", b"evil.example"),  # a Host we do not serve
        (b"null", b"localhost"),  # a sandboxed or file:// page
    ],
    ids=["port", "scheme", "host", "null"],
)
async def test_an_origin_differing_in_scheme_host_or_port_is_refused(origin, host):
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)

    await refused([(b"origin", origin), (b"host", host), (b"cookie", cookie)])


async def test_the_same_scheme_host_and_port_is_accepted():
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)

    socket = await open_with(
        [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000"), (b"cookie", cookie)]
    )

    await socket.disconnect()


async def test_behind_a_tls_proxy_the_origin_must_be_https(settings):
    settings.ALLOWED_HOSTS = ["voice.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)
    behind_proxy = [(b"host", b"voice.example.com"), (b"x-forwarded-proto", b"https")]

    await refused([(b"origin", b"http://voice.example.com"), *behind_proxy, (b"cookie", cookie)])
    socket = await open_with(
        [(b"origin", b"https://voice.example.com"), *behind_proxy, (b"cookie", cookie)]
    )

    await socket.disconnect()


async def test_a_csrf_trusted_origin_is_accepted(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)

    socket = await open_with([(b"origin", b"https://app.example.com"), HOST, (b"cookie", cookie)])

    await socket.disconnect()


async def test_a_cookie_without_an_origin_is_refused():
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)

    await refused([HOST, (b"cookie", cookie)])


# --- token authentication (integrations) -------------------------------------------------------


async def test_a_token_header_authenticates_an_integration_without_an_origin():
    user = await sync_to_async(make_user)()
    token = await Token.objects.acreate(user=user)
    socket = await open_with([HOST, (b"authorization", f"Token {token.key}".encode())])

    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    event = await socket.receive_json_from(timeout=5)

    assert event["call"]["id"] == str(call.id)
    await socket.disconnect()


@pytest.mark.parametrize("header", [b"Token not-a-real-token", b"Token ", b"token  "])
async def test_a_wrong_token_is_refused_with_4401_even_with_a_cookie(header):
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)

    code = await refused([ORIGIN, HOST, (b"cookie", cookie), (b"authorization", header)])

    assert code == CLOSE_NOT_AUTHENTICATED


@pytest.mark.parametrize("name", ["token", "access_token", "auth_token"])
async def test_a_token_in_the_url_is_refused(name):
    user = await sync_to_async(make_user)()
    token = await Token.objects.acreate(user=user)
    cookie = await sync_to_async(session_cookie)(user)

    code = await refused([ORIGIN, HOST, (b"cookie", cookie)], f"/ws/voice?{name}={token.key}")

    assert code == CLOSE_NOT_AUTHENTICATED


async def test_revoking_a_token_closes_its_sockets_only():
    from voice.services.tokens import api_token_revoke

    user = await sync_to_async(make_user)()
    token = await Token.objects.acreate(user=user)
    by_token = await open_with([HOST, (b"authorization", f"Token {token.key}".encode())])
    by_session = await open_socket(user)

    await sync_to_async(api_token_revoke)(user=user)

    assert (await by_token.receive_output(timeout=5))["code"] == CLOSE_NOT_AUTHENTICATED
    await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    assert (await by_session.receive_json_from(timeout=5))["type"] == "call.status"
    await by_session.disconnect()


# --- logging out -------------------------------------------------------------------------------


async def test_logging_out_closes_that_sessions_sockets_and_no_others():
    user = await sync_to_async(make_user)()
    leaving = await sync_to_async(logged_in_client)(user)
    staying = await sync_to_async(logged_in_client)(user)
    leaving_sockets = [
        await open_with([ORIGIN, HOST, (b"cookie", cookie_of(leaving))]) for _ in range(2)
    ]
    staying_socket = await open_with([ORIGIN, HOST, (b"cookie", cookie_of(staying))])

    assert (await sync_to_async(leaving.post)("/accounts/logout/")).status_code == 302

    for socket in leaving_sockets:
        assert (await socket.receive_output(timeout=5))["code"] == CLOSE_NOT_AUTHENTICATED
    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    event = await staying_socket.receive_json_from(timeout=5)
    assert event["call"]["id"] == str(call.id)
    await staying_socket.disconnect()


# --- malformed frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [{"text_data": "not json {"}, {"bytes_data": b"\x00\xff"}, {"text_data": "[" * 3000}],
    ids=["not-json", "binary", "deeply-nested"],
)
async def test_a_malformed_frame_is_answered_and_the_socket_stays(frame, caplog):
    user = await sync_to_async(make_user)()
    socket = await open_socket(user)

    with caplog.at_level(logging.WARNING):
        await socket.send_to(**frame)
        answer = await socket.receive_json_from(timeout=5)

    assert answer["type"] == "error"
    assert answer["error"]["code"] == "invalid_message"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    assert (await socket.receive_json_from(timeout=5))["type"] == "call.status"
    await socket.disconnect()


async def test_a_well_formed_message_is_ignored():
    user = await sync_to_async(make_user)()
    socket = await open_socket(user)

    await socket.send_json_to({"type": "hello"})

    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_a_huge_frame_closes_the_socket_as_too_big(caplog):
    user = await sync_to_async(make_user)()
    socket = await open_socket(user)

    with caplog.at_level(logging.WARNING):
        await socket.send_to(text_data="x" * 100_000)
        closed = await socket.receive_output(timeout=5)

    assert closed == {"type": "websocket.close", "code": CLOSE_MESSAGE_TOO_BIG}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
