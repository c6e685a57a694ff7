"""The OpenAI error shape, ``{"error": {"message", "type", "param", "code"}}``, everywhere."""

from aiohttp import web


def error_body(
    message: str, *, type_: str = "invalid_request_error", param=None, code=None
) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param=None,
    code=None,
    headers=None,
) -> web.Response:
    body = error_body(message, type_=type_, param=param, code=code)
    return web.json_response(body, status=status, headers=headers)


def bad_request(message: str, *, param=None, code=None) -> web.Response:
    return error_response(400, message, param=param, code=code)
