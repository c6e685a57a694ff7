"""OpenAI's published prices for the models the configuration seeds, as editable data.

USD per 1M tokens (per 1M characters for `characters`, per minute for `audio_seconds`), from
OpenAI's model pages (developers.openai.com/api/docs/models/<model>) as read in November 2026.
Rows whose figures could not be confirmed there are marked; every row is editable in the admin,
and an existing row is never overwritten (an admin's edit wins over this seed).
"""

from decimal import Decimal

from django.db import migrations

# Text in / cached text in / text out / audio in / cached audio in / audio out.
REALTIME = ("text_in", "text_in_cached", "text_out", "audio_in", "audio_in_cached", "audio_out")

PRICES = {
    # Confirmed on OpenAI's model pages.
    "gpt-realtime-2.1": dict(zip(REALTIME, ("4", "0.40", "24", "32", "0.40", "64"), strict=True)),
    "gpt-realtime-2": dict(zip(REALTIME, ("4", "0.40", "24", "32", "0.40", "64"), strict=True)),
    "gpt-realtime-2.1-mini": dict(
        zip(REALTIME, ("0.60", "0.06", "2.40", "10", "0.30", "20"), strict=True)
    ),
    "gpt-realtime-1.5": dict(zip(REALTIME, ("4", "0.40", "16", "32", "0.40", "64"), strict=True)),
    "gpt-4o-mini-tts": {"text_in": "0.60", "audio_out": "12"},
    # Text prices confirmed (OpenAI's model comparison); the audio prices are not.
    "gpt-realtime": dict(zip(REALTIME, ("4", "0.40", "16", "32", "0.40", "64"), strict=True)),
    # Text in and out confirmed by third parties only; the rest as the 2.1 mini (unconfirmed).
    "gpt-realtime-mini": dict(
        zip(REALTIME, ("0.60", "0.06", "2.40", "10", "0.30", "20"), strict=True)
    ),
    # $1.25 / $5 (and $2.50 / $10) are on OpenAI's model pages; the audio input price is the
    # pricing page's as third parties quote it (about $0.003 a minute), not confirmed there.
    "gpt-4o-mini-transcribe": {"text_in": "1.25", "text_out": "5", "audio_in": "3"},
    "gpt-4o-transcribe": {"text_in": "2.50", "text_out": "10", "audio_in": "6"},
    # Long-published prices, not re-confirmed on OpenAI's pages here.
    "gpt-4o-mini": {"text_in": "0.15", "text_in_cached": "0.075", "text_out": "0.60"},
    "whisper-1": {"audio_seconds": "0.006"},  # per minute
    "tts-1": {"characters": "15"},
    "tts-1-hd": {"characters": "30"},
}


def seed_prices(apps, schema_editor):
    Price = apps.get_model("voice", "Price")
    for model, units in PRICES.items():
        for unit, usd in units.items():
            Price.objects.get_or_create(model=model, unit=unit, defaults={"usd": Decimal(usd)})


class Migration(migrations.Migration):
    dependencies = [("voice", "0004_usage")]

    operations = [migrations.RunPython(seed_prices, migrations.RunPython.noop)]
