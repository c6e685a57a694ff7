"""Conversations as files a user can take away: Markdown to read, JSON for programs, and a zip
of every conversation in both.

Both formats carry the roles, times (UTC), how each turn was made (spoken or typed), interrupted
replies, and the call boundaries: when each call started and ended, its mode and why it ended.
"""

import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO
from uuid import UUID

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.text import slugify

from voice import errors
from voice.models import Call, Conversation, EndReason, Message, Mode
from voice.selectors import messages_in_order
from voice.serializers import CallSerializer, ItemSerializer

FORMATS = {"md": "text/markdown; charset=utf-8", "json": "application/json"}
# The zip of everything is built in a temporary file on the server's disk; past this size it
# is refused, and the user exports conversations one by one instead.
ZIP_MAX_BYTES = 100 * 1024 * 1024
_ROLE_NAMES: dict[str, str] = {Message.Role.USER: "You", Message.Role.ASSISTANT: "Assistant"}
_MODE_NAMES: dict[str, str] = {Mode.REALTIME: "Realtime", Mode.LEGACY: "Legacy"}


@dataclass(frozen=True)
class ConversationExport:
    conversation: Conversation
    calls: list[Call]  # oldest first
    messages: list[Message]  # in conversation order


def conversation_export_get(*, conversation: Conversation) -> ConversationExport:
    """Everything a file of the conversation shows: its calls and all its messages."""
    calls = list(conversation.calls.order_by("started_at"))
    messages = messages_in_order(conversation.messages.all())
    return ConversationExport(conversation=conversation, calls=calls, messages=messages)


def export_filename(conversation: Conversation, extension: str) -> str:
    """`2026-11-24-the-lease-in-berlin-1a2b3c4d.md`: the day it began, its title, and the
    start of its id (titles repeat); only ASCII letters, digits and dashes, so every
    browser and file system takes it as it is."""
    slug = slugify(conversation.title)[:60].strip("-") or "conversation"
    return f"{conversation.created_at:%Y-%m-%d}-{slug}-{conversation.pk.hex[:8]}.{extension}"


def export_render(export: ConversationExport, extension: str) -> str:
    return _markdown(export) if extension == "md" else _json(export)


# --- JSON -------------------------------------------------------------------------------------


def _json(export: ConversationExport) -> str:
    conversation = export.conversation
    document = {
        "id": str(conversation.pk),
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "exported_at": _iso(timezone.now()),
        "calls": CallSerializer(export.calls, many=True).data,
        # `<item>` as the API gives it, with the call it was part of (null: typed outside one).
        "messages": [
            {**ItemSerializer(message).data, "call": str(message.call_id or "") or None}
            for message in export.messages
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# --- Markdown ---------------------------------------------------------------------------------


def _markdown(export: ConversationExport) -> str:
    conversation = export.conversation
    lines = [
        f"# {_one_line(conversation.title) or 'Untitled conversation'}",
        "",
        f"Started {_when(conversation.created_at)}, last activity "
        f"{_when(conversation.updated_at)}. Times are UTC.",
        "",
    ]
    calls = {call.pk: call for call in export.calls}
    for entry in _timeline(export.messages, calls):
        lines += entry
    return "\n".join(lines).rstrip() + "\n"


def _timeline(messages: list[Message], calls: dict[UUID, Call]) -> Iterator[list[str]]:
    """The messages, with a line where each call starts and ends around its own messages."""
    current = None
    for message in messages:
        if message.call_id != current:
            if current is not None:
                yield _call_ended(calls[current])
            if message.call_id is not None:
                yield _call_started(calls[message.call_id])
            current = message.call_id
        yield _message(message)
    if current is not None:
        yield _call_ended(calls[current])


def _call_started(call: Call) -> list[str]:
    mode = _MODE_NAMES.get(call.mode, call.mode)
    return [f"**— {mode} call started {_when(call.started_at)} —**", ""]


def _call_ended(call: Call) -> list[str]:
    if call.ended_at is None:
        return ["**— the call is still in progress —**", ""]
    reason = call.ended_reason or "unknown"
    label = EndReason(reason).label if reason in EndReason.values else reason
    return [f"**— call ended {_when(call.ended_at)} ({label}) —**", ""]


def _message(message: Message) -> list[str]:
    name = _ROLE_NAMES.get(message.role, message.role.capitalize())
    marks = ["typed" if message.source == Message.Source.TEXT else "spoken"]
    if message.interrupted:
        marks.append("interrupted")
    heading = f"**{name}** · {message.created_at.astimezone(UTC):%H:%M:%S} · {', '.join(marks)}"
    # Quoted, so a turn's own Markdown (a heading, a rule) cannot break the file's structure.
    body = [f"> {line}" if line else ">" for line in (message.text or "").splitlines()] or [">"]
    if message.interrupted:
        body[-1] += " …"
    return [heading, "", *body, ""]


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- every conversation, zipped ---------------------------------------------------------------


def conversations_zip(*, user: User) -> IO[bytes]:
    """A zip of all the user's conversations, each as `.md` and `.json`, in a temporary file
    (rewound, for the response to stream and close). Over `ZIP_MAX_BYTES` is 413."""
    archive_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
    try:
        _write_zip(archive_file, user=user)
    except BaseException:
        archive_file.close()
        raise
    archive_file.seek(0)
    return archive_file


def _write_zip(archive_file: IO[bytes], *, user: User) -> None:
    conversations = (
        Conversation.objects.filter(user=user)
        .order_by("created_at", "pk")
        .prefetch_related("calls", "messages")
    )
    names: set[str] = set()
    with zipfile.ZipFile(archive_file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for conversation in conversations.iterator(chunk_size=100):
            export = ConversationExport(
                conversation=conversation,
                calls=sorted(conversation.calls.all(), key=lambda call: call.started_at),
                messages=messages_in_order(conversation.messages.all()),
            )
            for extension in FORMATS:
                name = _unique(export_filename(conversation, extension), names, conversation)
                archive.writestr(name, export_render(export, extension))
            if archive_file.tell() > ZIP_MAX_BYTES:
                raise errors.over_limit(
                    f"Your conversations come to more than {ZIP_MAX_BYTES // 1024 // 1024} MB "
                    "zipped: export them one by one instead."
                )


def _unique(name: str, taken: set[str], conversation: Conversation) -> str:
    """A name no other file in the zip has: the id's first 8 characters are almost always
    enough; the whole id makes sure."""
    if name in taken:
        stem, extension = name.rsplit(".", 1)
        name = f"{stem.rsplit('-', 1)[0]}-{conversation.pk.hex}.{extension}"
    taken.add(name)
    return name
