"""``/_sim/*``: local test control, without auth. Read and retune the knobs of a running
simulator, read or clear the request record, and inspect the calls."""

from aiohttp import web

from .faults import SETTINGS
from .realtime import CALLS
from .recording import RECORDER


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[SETTINGS].as_dict())


async def post_config(request: web.Request) -> web.Response:
    try:
        changes = await request.json()
    except ValueError:
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    if not isinstance(changes, dict):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    try:
        request.app[SETTINGS].update(changes)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sim/config", get_config)
    app.router.add_post("/_sim/config", post_config)
    app.router.add_get("/_sim/requests", get_requests)
    app.router.add_delete("/_sim/requests", delete_requests)
    app.router.add_get("/_sim/calls", get_calls)
