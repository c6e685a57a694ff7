"""``/_sim/*``: local test control, without auth. Read and retune the knobs of a running
simulator, read or clear the request record, inspect the calls, and drive a call without a
peer: play a user turn, or end it as OpenAI's maximum session length does.

    GET    /_sim/config                 the knobs            POST /_sim/config  retune some
    GET    /_sim/requests[?path=/v1/…]  the request record   DELETE             clear it
    GET    /_sim/calls                  every call, with its conversation in order
    POST   /_sim/calls/{id}/turn        {"text"?: str, "interrupt"?: bool}: one user turn
    POST   /_sim/calls/{id}/expire      error session_expired, then the call closes

Control errors are ``{"error": "<message>"}``: 400 for a bad body, 404 for a call that is not
open, 409 for a turn the session cannot play.
"""

import asyncio

from aiohttp import web

from .conversation import TurnError
from .faults import SETTINGS
from .realtime import CALLS, Call
from .recording import RECORDER

TURN_FIELDS = {"text": str, "interrupt": bool}


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict | None:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[SETTINGS].as_dict())


async def post_config(request: web.Request) -> web.Response:
    changes = await _json_object(request)
    if changes is None:
        return _problem(400, "the body must be a JSON object")
    try:
        request.app[SETTINGS].update(changes)
    except ValueError as exc:
        return _problem(400, str(exc))
    return web.json_response(request.app[SETTINGS].as_dict())


async def get_requests(request: web.Request) -> web.Response:
    records = request.app[RECORDER].matching(request.query.get("path"))
    return web.json_response(records)


async def delete_requests(request: web.Request) -> web.Response:
    request.app[RECORDER].clear()
    return web.Response(status=204)


async def get_calls(request: web.Request) -> web.Response:
    calls = request.app[CALLS].calls.values()
    return web.json_response([call.describe() for call in calls])


def _open_call(request: web.Request) -> Call | None:
    return request.app[CALLS].open_call(request.match_info["call_id"])


def _turn_problem(body: dict | None) -> str | None:
    if body is None:
        return "the body must be a JSON object"
    for name, value in body.items():
        kind = TURN_FIELDS.get(name)
        if kind is None:
            return f"unknown field {name!r}: a turn takes {', '.join(TURN_FIELDS)}"
        if not isinstance(value, kind) or (kind is str and not value.strip()):
            return f"{name} must be a {'non-empty string' if kind is str else 'boolean'}"
    return None


async def post_turn(request: web.Request) -> web.Response:
    """Answers once the turn is over: its reply played out (or cut) and its transcript sent."""
    body = await _json_object(request)
    if problem := _turn_problem(body):
        return _problem(400, problem)
    call = _open_call(request)
    if call is None:
        return _problem(404, "no open call with this id")
    turn = call.conversation.spawn(
        call.conversation.play_turn(body.get("text"), interrupt=body.get("interrupt", False))
    )
    await asyncio.wait({turn})
    if turn.cancelled():  # the call ended while the turn played
        return _problem(409, "the call ended during the turn")
    if isinstance(turn.exception(), TurnError):
        return _problem(409, str(turn.exception()))
    return web.json_response(turn.result())


async def post_expire(request: web.Request) -> web.Response:
    call = _open_call(request)
    if call is None:
        return _problem(404, "no open call with this id")
    await call.expire()
    return web.json_response(call.describe())


async def post_drop_sidebands(request: web.Request) -> web.Response:
    """Drop the call's sidebands (close 1011) while the call goes on: a network blip."""
    call = _open_call(request)
    if call is None:
        return _problem(404, "no open call with this id")
    return web.json_response({"dropped": await call.drop_sidebands()})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sim/config", get_config)
    app.router.add_post("/_sim/config", post_config)
    app.router.add_get("/_sim/requests", get_requests)
    app.router.add_delete("/_sim/requests", delete_requests)
    app.router.add_get("/_sim/calls", get_calls)
    app.router.add_post("/_sim/calls/{call_id}/turn", post_turn)
    app.router.add_post("/_sim/calls/{call_id}/expire", post_expire)
    app.router.add_post("/_sim/calls/{call_id}/drop-sidebands", post_drop_sidebands)
