"""Recording of every ``/v1`` request, and the one parse of its body that handlers then reuse.

The recorder middleware runs first: it reads the body once, parses multipart and JSON bodies,
stores the result on the request (``request[BODY]``) and keeps a summary for ``/_sim/requests``.
Uploaded files are summarised by size and filename; their bytes are never kept, and neither is
a key: the Authorization header is recorded masked (``Bearer sk-…abcd``).
"""

import json
import time
from dataclasses import dataclass
from email.message import Message

from aiohttp import web

from .errors import error_response


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedBody:
    raw: bytes
    form: dict  # field name -> str or UploadedFile; empty unless the body was a form
    json: object = None  # the decoded JSON body, when the body was JSON


# web.RequestKey is new in aiohttp 3.13 (and warned for when missing); 3.11 takes a string.
BODY = (
    web.RequestKey("parsed_body", ParsedBody)
    if hasattr(web, "RequestKey")
    else "simulator.parsed_body"
)


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def add(self, record: dict) -> None:
        self.records.append(record)

    def matching(self, path: str | None) -> list[dict]:
        return [r for r in self.records if path is None or r["path"] == path]

    def clear(self) -> None:
        self.records.clear()


RECORDER = web.AppKey("recorder", Recorder)


def _header_params(value: str) -> Message:
    message = Message()
    message["content-type"] = value
    return message


def parse_multipart(body: bytes, content_type: str) -> dict:
    """Split a multipart/form-data body into fields; byte-exact, unlike ``email``'s parser."""
    boundary = _header_params(content_type).get_param("boundary")
    if not boundary:
        raise ValueError("multipart body without a boundary")
    form: dict = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(_part_headers(head))
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-type")
        filename = disposition.get_param("filename", header="content-type")
        payload = payload.removesuffix(b"\r\n")
        if filename is not None:
            part_type = headers.get("content-type", "application/octet-stream")
            form[name] = UploadedFile(filename, part_type, payload)
        else:
            form[name] = payload.decode("utf-8", errors="replace")
    return form


def _part_headers(head: bytes):
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        key, _, value = line.partition(":")
        if value:
            yield key.strip().lower(), value.strip()


def _parse_body(raw: bytes, content_type: str, mimetype: str) -> ParsedBody:
    parsed = ParsedBody(raw=raw, form={})
    if mimetype == "multipart/form-data":
        try:
            parsed.form = parse_multipart(raw, content_type)
        except ValueError:
            parsed.form = {}
    elif mimetype == "application/json":
        try:
            parsed.json = json.loads(raw)
        except ValueError:
            parsed.json = None
    return parsed


def mask_authorization(value: str | None) -> str | None:
    """An Authorization header with its credential masked: the scheme, a short type prefix
    (``sk-``, ``ek_``) and the last 4 characters, so tests can tell keys apart without the
    record ever holding one. Credentials under 12 characters keep nothing."""
    if value is None:
        return None
    scheme, _, credential = value.partition(" ")
    if not credential:
        scheme, credential = "", scheme
    prefix = credential[:3] if credential[2:3] in ("-", "_") else ""
    masked = f"{prefix}…{credential[-4:]}" if len(credential) >= 12 else "…"
    return f"{scheme} {masked}".lstrip()


def _summary(request: web.Request, parsed: ParsedBody) -> dict:
    record = {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "authorization": mask_authorization(request.headers.get("Authorization")),
        "content_type": request.headers.get("Content-Type"),
    }
    if parsed.form:
        record["form"] = {name: _field_summary(value) for name, value in parsed.form.items()}
        if "session" in parsed.form:
            record["session"] = _json_or_none(parsed.form["session"])
    elif parsed.json is not None:
        record["json"] = parsed.json
    elif parsed.raw:
        record["body"] = parsed.raw.decode("utf-8", errors="replace")
    return record


def _field_summary(value):
    if isinstance(value, UploadedFile):
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "size": len(value.data),
        }
    return value


def _json_or_none(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def recorder_middleware(max_body_bytes: int):
    @web.middleware
    async def record(request: web.Request, handler):
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if (request.content_length or 0) > max_body_bytes:
            request.app[RECORDER].add(_summary(request, ParsedBody(raw=b"", form={})))
            return error_response(413, f"Maximum content size limit ({max_body_bytes}) exceeded.")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, f"Maximum content size limit ({max_body_bytes}) exceeded.")
        parsed = _parse_body(raw, request.headers.get("Content-Type", ""), request.content_type)
        request[BODY] = parsed
        request.app[RECORDER].add(_summary(request, parsed))
        return await handler(request)

    return record
