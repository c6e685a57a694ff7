"""The official ``openai`` SDK's Realtime types as a protocol check for the simulator.

The SDK's pydantic models accept unknown fields (``extra="allow"``) and coerce types, so
validating alone would let a misspelt or invented field through. ``server_event_problems``
therefore validates strictly and then walks the parsed model for fields the types do not declare.
"""

import typing
from functools import cache

import pydantic
from openai import BaseModel
from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateRequest,
    RealtimeSessionCreateResponse,
)

# The SDK types the session in session.created/updated as the *request* shape, which has no
# id, object or expires_at; the wire (OpenAI's own API-reference example for session.created)
# carries them, as the SDK's RealtimeSessionCreateResponse declares. The session is therefore
# checked against that response type instead.
SESSION_EVENTS = ("session.created", "session.updated")


@cache
def _adapter(annotation) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(annotation)


@cache
def _members_by_type(union) -> dict:
    """The union's members keyed by their ``type`` literal: the SDK declares ``type`` as the
    discriminator, but in its own metadata, so pydantic would otherwise try every member and
    report all their errors."""
    (members, *_metadata) = typing.get_args(union)
    return {
        literal: member
        for member in typing.get_args(members)
        for literal in typing.get_args(member.model_fields["type"].annotation)
    }


def _event_problems(union, event: dict) -> list[str]:
    member = _members_by_type(union).get(event.get("type"))
    if member is None:
        return [f"{event.get('type')!r} is not a GA event type"]
    return _problems(member, event)


def undeclared_fields(value, path: str = "") -> list[str]:
    """Dotted paths of every field that a parsed SDK model kept only as an extra."""
    found = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{name}".lstrip(".") for name in value.model_extra or {}]
        for name in value.model_fields_set:
            found += undeclared_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, element in enumerate(value):
            found += undeclared_fields(element, f"{path}[{index}]")
    return found


def _problems(annotation, data) -> list[str]:
    try:
        parsed = _adapter(annotation).validate_python(data, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{error['loc']}: {error['msg']}" for error in exc.errors()]
    return [f"undeclared field {name}" for name in undeclared_fields(parsed)]


def server_event_problems(event: dict) -> list[str]:
    """Why ``event`` is not a valid GA server event, or ``[]``."""
    if event.get("type") in SESSION_EVENTS and isinstance(event.get("session"), dict):
        rest = {**event, "session": {"type": event["session"].get("type")}}
        return _event_problems(RealtimeServerEvent, rest) + [
            f"session: {problem}"
            for problem in _problems(RealtimeSessionCreateResponse, event["session"])
        ]
    return _event_problems(RealtimeServerEvent, event)


def client_event_problems(event: dict) -> list[str]:
    """Why ``event`` is not a valid GA client event, or ``[]``."""
    return _event_problems(RealtimeClientEvent, event)


def session_request_problems(session: dict) -> list[str]:
    """Why ``session`` (what we send with an offer) is not a valid GA session request, or []."""
    return _problems(RealtimeSessionCreateRequest, session)
