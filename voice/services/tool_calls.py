"""Running one tool call the model made, in either mode: `tool_call_run`.

Only a registered tool the admin has not turned off runs, with arguments checked against its
schema, for the call's own user, within the admin's timeout and per-call limit. Whatever
happens, the model gets a short JSON answer it can explain (`{"ok": true, "result": …}` or
`{"ok": false, "error": "…"}`), never an exception, and the transcript gets one line saying what
the assistant did, in conversation order (a `Message` with role "tool").
"""

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils import timezone

from voice import errors
from voice.events import publish_to_user
from voice.models import Call, Conversation, Message
from voice.selectors import voice_config_get
from voice.serializers import ItemSerializer
from voice.services.transcripts import transcript_room_check
from voice.tools import (
    ArgumentsError,
    Tool,
    ToolContext,
    ToolError,
    enabled_tools,
    registered_tools,
)
from voice.tools.schema import arguments_parse

logger = logging.getLogger(__name__)

OUTPUT_MAX_CHARS = 4_000  # what one tool answer may put into the model's context
NAME_MAX_CHARS = 64
SAVED_ARGUMENTS_MAX_CHARS = 2_000  # the arguments kept with the transcript's line


@dataclass(frozen=True)
class ToolOutcome:
    output: str  # JSON text for the model
    ok: bool
    ends_call: bool  # the tool asks for the call to end once the assistant has said goodbye
    line: str  # the transcript's line, e.g. "Searched your conversations for 'lease'"
    item_id: str | None = None  # the saved tool item; None when nothing was saved


def tool_item_id(*, call: Call, call_id: str) -> str:
    """The transcript item of one tool call: stable for (call, call_id), so a repeat is known,
    and at most 32 characters, so the Realtime pipeline can give its `function_call_output`
    item the same id (OpenAI's limit on client item ids)."""
    digest = hashlib.sha256(f"{call.pk}:{call_id}".encode()).hexdigest()
    return f"tool_{digest[:27]}"


@dataclass
class _Prepared:
    tool: Tool | None
    kwargs: dict[str, Any]
    message: Message | None
    refusal: str | None  # why the tool does not run (said to the model)
    line: str
    timeout_s: int
    context: ToolContext | None = None


async def tool_call_run(
    *,
    call: Call,
    name: str,
    arguments: str,
    call_id: str,
    previous_item_id: str | None = None,
) -> ToolOutcome:
    """Run the tool call `call_id` the model made in `call` and record it; returns what to tell
    the model. `previous_item_id` places the transcript line after that item (Realtime)."""
    started = time.monotonic()
    prepared = await sync_to_async(_prepare)(
        call=call,
        name=name[:NAME_MAX_CHARS],
        arguments=arguments,
        call_id=call_id,
        previous_item_id=previous_item_id,
    )
    if prepared.refusal is None and prepared.tool is not None:
        try:
            ok, payload = await _execute(prepared)
        except asyncio.CancelledError:  # the call ended while the tool ran: say it failed
            if prepared.message is not None:
                failed = sync_to_async(_finish)(
                    message=prepared.message, ok=False, line=f"{prepared.line} (failed)", call=call
                )
                await asyncio.shield(failed)
            raise
    else:
        ok, payload = False, prepared.refusal or "The tool could not run."
    output = _output(ok, payload)
    line = prepared.line if ok else f"{prepared.line} (failed)"
    if prepared.message is not None:
        await sync_to_async(_finish)(message=prepared.message, ok=ok, line=line, call=call)
    logger.info(
        "Call %s: tool %s %s in %.0f ms",
        call.pk,
        name[:NAME_MAX_CHARS],
        "succeeded" if ok else f"failed ({_short_reason(payload)})",
        (time.monotonic() - started) * 1000,
    )
    return ToolOutcome(
        output=output,
        ok=ok,
        ends_call=ok and prepared.tool is not None and prepared.tool.ends_call,
        line=line,
        item_id=prepared.message.item_id if prepared.message else None,
    )


def call_ending_asked(*, call: Call) -> bool:
    """Whether a tool that ends the call (`end_call`) already ran in it: a call monitor that
    takes the call over mid-goodbye still ends it."""
    enders = [tool.name for tool in registered_tools() if tool.ends_call]
    return Message.objects.filter(
        call=call, role=Message.Role.TOOL, tool__name__in=enders, tool__ok=True
    ).exists()


def _prepare(
    *, call: Call, name: str, arguments: str, call_id: str, previous_item_id: str | None
) -> _Prepared:
    """Everything before the tool runs, in one thread hop: the rules, then the transcript
    item (saved first, so the per-call limit holds for tool calls made in parallel)."""
    config = voice_config_get()
    tool = next((t for t in enabled_tools() if t.name == name), None)
    prepared = _Prepared(
        tool=tool, kwargs={}, message=None, refusal=None, line="", timeout_s=config.tool_timeout_s
    )
    _check_arguments(prepared, name=name, arguments=arguments)
    try:
        prepared.message = _record(
            call=call,
            item_id=tool_item_id(call=call, call_id=call_id),
            previous_item_id=previous_item_id,
            tool={"name": name, "arguments": _saved_arguments(arguments), "ok": None},
            line=prepared.line,
            limit=config.max_tool_calls_per_call,
        )
    except errors.VoiceError as exc:
        prepared.refusal, prepared.tool = exc.message, None
        return prepared
    user = Call.objects.select_related("user").get(pk=call.pk).user
    prepared.context = ToolContext(user=user, call=call, timezone=_zone(call.timezone))
    return prepared


def _check_arguments(prepared: _Prepared, *, name: str, arguments: str) -> None:
    """The tool's keyword arguments and line, or the refusal to tell the model."""
    tool = prepared.tool
    if tool is None:
        prepared.refusal = f"There is no tool called {name!r} here."
        prepared.line = f"Tried to use {name!r}, which is not available"
        return
    try:
        prepared.kwargs = arguments_parse(arguments, tool.parameters)
    except ArgumentsError as exc:
        prepared.refusal = f"Invalid arguments: {exc}"
        prepared.line = f"Tried to use {tool.name.replace('_', ' ')}"
        return
    prepared.line = tool.line_for(prepared.kwargs)


@transaction.atomic
def _record(
    *,
    call: Call,
    item_id: str,
    previous_item_id: str | None,
    tool: dict[str, Any],
    line: str,
    limit: int,
) -> Message:
    """Save the call's tool item, or refuse: the call is over, its tool calls or its transcript
    are full, or this tool call was already run. The call row is locked, so parallel tool
    calls are counted one at a time."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if not locked.is_live or locked.conversation_id is None:
        raise errors.call_ended("The call has ended: no more tools can run in it.")
    if Message.objects.filter(call=locked, role=Message.Role.TOOL).count() >= limit:
        raise errors.over_limit(f"This call has used all {limit} of its tool calls.")
    if Message.objects.filter(conversation_id=locked.conversation_id, item_id=item_id).exists():
        raise errors.VoiceError("This tool call was already run.")
    transcript_room_check(call=locked, item_ids=[item_id])
    message = Message.objects.create(
        conversation_id=locked.conversation_id,
        call=locked,
        item_id=item_id,
        previous_item_id=previous_item_id or "",
        role=Message.Role.TOOL,
        text=line,
        tool=tool,
    )
    Conversation.objects.filter(pk=locked.conversation_id).update(updated_at=timezone.now())
    return message


def _finish(*, message: Message, ok: bool, line: str, call: Call) -> None:
    message.tool = {**(message.tool or {}), "ok": ok}
    message.text = line
    message.save(update_fields=["tool", "text", "updated_at"])
    publish_to_user(
        user_id=call.user_id,
        message={
            "type": "call.transcript",
            "call_id": str(call.pk),
            "item": ItemSerializer(message).data,
        },
    )


async def _execute(prepared: _Prepared) -> tuple[bool, Any]:
    """Run the tool within the admin's timeout: (True, its result) or (False, why not)."""
    tool, context = prepared.tool, prepared.context
    assert tool is not None and context is not None
    try:
        async with asyncio.timeout(prepared.timeout_s):
            if tool.is_async:
                return True, await tool.function(context, **prepared.kwargs)
            # Off the event loop, in a thread of its own: a slow tool holds up neither the
            # other calls this worker watches nor the ORM thread they share. A sync tool that
            # times out cannot be stopped; it finishes in its thread, and its result is dropped.
            run = sync_to_async(_run_sync, thread_sensitive=False)
            return True, await run(tool, context, prepared.kwargs)
    except TimeoutError:
        return False, f"The tool took longer than {prepared.timeout_s} seconds and was given up."
    except ToolError as exc:
        return False, str(exc)[:500] or "The tool could not do that."
    except Exception:
        logger.warning("Tool %s raised", tool.name, exc_info=True)
        return False, "The tool failed with an internal error."


def _run_sync(tool: Tool, context: ToolContext, kwargs: dict[str, Any]) -> Any:
    try:
        return tool.function(context, **kwargs)
    finally:
        connections.close_all()  # this thread's own connections, not the ORM thread's


def _output(ok: bool, payload: Any) -> str:
    """The JSON the model reads, at most OUTPUT_MAX_CHARS: a result too long is cut, and says so."""
    if not ok:
        return json.dumps({"ok": False, "error": str(payload)})
    try:
        text = json.dumps({"ok": True, "result": payload}, cls=DjangoJSONEncoder)
    except (TypeError, ValueError):
        return json.dumps({"ok": False, "error": "The tool returned something that is not JSON."})
    if len(text) <= OUTPUT_MAX_CHARS:
        return text
    raw = json.dumps(payload, cls=DjangoJSONEncoder)
    cut = OUTPUT_MAX_CHARS
    while True:  # escaping may lengthen the cut text: shorten until it fits
        cut = cut * 3 // 4
        text = json.dumps({"ok": True, "truncated": True, "result_start": raw[:cut]})
        if len(text) <= OUTPUT_MAX_CHARS:
            return text


def _saved_arguments(arguments: str) -> dict[str, Any]:
    """The model's arguments as kept with the transcript line: its JSON object, when it is one
    of a reasonable size, else nothing."""
    if len(arguments) > SAVED_ARGUMENTS_MAX_CHARS:
        return {}
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):  # validated when saved; an old or odd row reads as UTC
        return ZoneInfo("UTC")


def _short_reason(payload: Any) -> str:
    return str(payload).split(".")[0][:80]
