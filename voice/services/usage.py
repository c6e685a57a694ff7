"""Usage and its cost: the units OpenAI reports for each billable event, priced from the
admin's price table at the moment they are recorded, and the monthly budget that limits what a
user may spend of the server's key.

The `units_from_*` functions turn OpenAI's usage objects (Realtime `response.usage`, chat
completions, transcriptions, speech) into the columns of `UsageRecord`. OpenAI counts cached
input tokens inside the input tokens; here they are split out, since they are priced apart.
"""

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from voice import errors
from voice.models import UNIT_PER, Call, KeySource, UsageRecord
from voice.selectors import budget_get, price_table

logger = logging.getLogger(__name__)

MICRO_DOLLAR = Decimal("0.000001")


def _count(value: object) -> int:
    """A token count as OpenAI sends it; anything else (missing, null, odd) is none."""
    return value if isinstance(value, int) and value > 0 else 0


def units_from_realtime_response(usage: dict[str, Any]) -> dict[str, Any]:
    """`response.done` → `response.usage`: input and output tokens by modality, with the
    cached input tokens (a subset of the input) split out."""
    text_in, audio_in, cached_text, cached_audio = _realtime_input(usage)
    output = usage.get("output_token_details") or {}
    text_out, audio_out = _count(output.get("text_tokens")), _count(output.get("audio_tokens"))
    if not output:
        text_out = _count(usage.get("output_tokens"))
    return {
        "text_in": text_in - cached_text,
        "text_in_cached": cached_text,
        "audio_in": audio_in - cached_audio,
        "audio_in_cached": cached_audio,
        "text_out": text_out,
        "audio_out": audio_out,
    }


def _realtime_input(usage: dict[str, Any]) -> tuple[int, int, int, int]:
    """Text and audio input tokens, and how many of each were cached."""
    details = usage.get("input_token_details") or {}
    text, audio = _count(details.get("text_tokens")), _count(details.get("audio_tokens"))
    if not details:  # no breakdown: count it all as text, the input every response has
        text = _count(usage.get("input_tokens"))
    by_modality = details.get("cached_tokens_details") or {}
    cached_text = _count(by_modality.get("text_tokens"))
    cached_audio = _count(by_modality.get("audio_tokens"))
    if not by_modality:  # cached, but not by modality: text first (instructions, earlier turns)
        cached_text = _count(details.get("cached_tokens"))
        cached_audio = cached_text - min(cached_text, text)
    return text, audio, min(cached_text, text), min(cached_audio, audio)


def units_from_transcription(usage: dict[str, Any]) -> dict[str, Any]:
    """A transcription's `usage`: tokens (the gpt-4o transcribe models) or seconds of audio
    (whisper-1). The same shape comes with a Realtime call's input transcription."""
    if usage.get("type") == "duration":
        seconds = usage.get("seconds")
        valid = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        positive = valid and isinstance(seconds, int | float) and seconds > 0
        return {"audio_seconds": Decimal(str(seconds)) if positive else Decimal(0)}
    details = usage.get("input_token_details") or {}
    audio_in = _count(details.get("audio_tokens"))
    if not details:  # the input of a transcription is the audio
        audio_in = _count(usage.get("input_tokens"))
    return {
        "text_in": _count(details.get("text_tokens")),
        "audio_in": audio_in,
        "text_out": _count(usage.get("output_tokens")),
    }


def units_from_chat(usage: dict[str, Any]) -> dict[str, Any]:
    """A chat completion's `usage` (the streamed reply's last chunk, with include_usage)."""
    prompt = _count(usage.get("prompt_tokens"))
    cached = min(_count((usage.get("prompt_tokens_details") or {}).get("cached_tokens")), prompt)
    return {
        "text_in": prompt - cached,
        "text_in_cached": cached,
        "text_out": _count(usage.get("completion_tokens")),
    }


def units_from_speech(usage: dict[str, Any] | None, *, characters: int) -> dict[str, Any]:
    """Speech: the characters sent (what tts-1 is priced by), and the text and audio tokens
    of `speech.audio.done`'s usage when the stream got that far."""
    usage = usage or {}
    return {
        "characters": characters,
        "text_in": _count(usage.get("input_tokens")),
        "audio_out": _count(usage.get("output_tokens")),
    }


def usage_cost(*, units: dict[str, Any], prices: dict[str, Decimal]) -> Decimal:
    """Units × price per unit, to the micro-dollar. A unit with no price costs nothing."""
    priced = ((count, prices.get(unit), UNIT_PER[unit]) for unit, count in units.items())
    total = sum((Decimal(count) * usd / per for count, usd, per in priced if usd), Decimal(0))
    return total.quantize(MICRO_DOLLAR, rounding=ROUND_HALF_UP)


def usage_record(
    *,
    user: User,
    call: Call | None,
    kind: str,
    model: str,
    key_source: str,
    units: dict[str, Any],
    upstream_id: str = "",
) -> UsageRecord:
    """Record one billable event at today's prices. An event already recorded for the call
    under the same `upstream_id` (a replayed `response.done`) is returned, not counted twice."""
    prices = price_table(model=model)
    counted = [unit for unit, count in units.items() if count]
    if counted and not any(prices.get(unit) for unit in counted):  # it would all be free
        logger.warning("Usage of model %s has no price: add its prices in the admin", model)
    fields = {"kind": kind, "model": model, "key_source": key_source, **units}
    try:
        with transaction.atomic():
            return UsageRecord.objects.create(
                user=user,
                call=call,
                upstream_id=upstream_id,
                cost=usage_cost(units=units, prices=prices),
                **fields,
            )
    except IntegrityError:
        if not upstream_id:
            raise
        return UsageRecord.objects.get(call=call, upstream_id=upstream_id)


def usage_budget_check(*, user: User, key_source: str | None) -> None:
    """Refuse (402) what the server's key would pay for once the user's month is spent;
    a user's own key is never limited here."""
    if key_source != KeySource.SERVER:
        return
    budget = budget_get(user=user)
    if budget.exceeded:
        raise errors.budget_exceeded(resets_at=budget.resets_at)
