"""The data of the voice module: keys, the admin's configuration, preferences, calls, transcripts.

Writes go through `voice.services`, reads through `voice.selectors`; models hold no logic
beyond their own invariants.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from voice import defaults
from voice.search import TERM_MAX_CHARS
from voice.validators import validate_model_id, validate_timezone, validate_voice_list

if TYPE_CHECKING:
    from voice.selectors import MessagePage

# A browser that never reports its media path up within this time has given up.
CONNECTING_TIMEOUT = timedelta(seconds=60)


class EndReason(models.TextChoices):
    """Why a call ended (`Call.ended_reason`, docs/api.md). A call that failed to start keeps the
    error code instead, and a client may report a failure of its own (e.g. `ice_failed`)."""

    USER = "user", "The caller hung up"
    PAGE_CLOSED = "page_closed", "The page was closed or reloaded"
    OTHER_TAB = "other_tab", "Ended from another tab"
    MAX_DURATION = "max_duration", "Reached the longest call"
    IDLE = "idle", "Nobody spoke for the idle limit"
    BUDGET_EXCEEDED = "budget_exceeded", "The month's budget was spent"
    UPSTREAM_ENDED = "upstream_ended", "OpenAI ended it"
    CONNECT_TIMEOUT = "connect_timeout", "Never connected"
    ASSISTANT = "assistant", "The assistant ended it"
    ADMIN = "admin", "An administrator ended it"


class Mode(models.TextChoices):
    REALTIME = "realtime", "Realtime (speech to speech over WebRTC)"
    LEGACY = "legacy", "Legacy (speech to text, reply, text to speech)"


class TurnDetection(models.TextChoices):
    """How a Realtime call finds the end of the user's turn (`audio.input.turn_detection`)."""

    SERVER_VAD = "server_vad", "Server VAD (a set silence ends the turn)"
    SEMANTIC_VAD = "semantic_vad", "Semantic VAD (a model judges when the user is done)"
    MANUAL = "manual", "Manual (push-to-talk only)"


class Eagerness(models.TextChoices):
    """Semantic VAD's eagerness; OpenAI waits at most 8 s, 4 s and 2 s at low, medium, high."""

    AUTO = "auto", "Auto (as medium)"
    LOW = "low", "Low: lets the user pause longest (at most 8 s)"
    MEDIUM = "medium", "Medium (at most 4 s)"
    HIGH = "high", "High: answers soonest (at most 2 s)"


class KeySource(models.TextChoices):
    """Which key paid: a call's, and each usage record's."""

    USER = "user", "the user's own key"
    SERVER = "server", "the server's key"


class KeyPolicy(models.TextChoices):
    SERVER = "server", "Server key only"
    USER = "user", "User's own key only"
    USER_THEN_SERVER = "user_then_server", "User's own key, else the server key"


class UserApiKey(models.Model):
    """A user's own OpenAI key, Fernet-encrypted; only `last4` is stored in clear, for the mask."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="openai_api_key"
    )
    encrypted_key = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user OpenAI key"

    def __str__(self) -> str:
        return f"{self.user} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"sk-…{self.last4}"


class VoiceConfig(models.Model):
    """The admin's run-time configuration: a singleton row (pk 1), seeded from `defaults`."""

    SINGLETON_PK = 1

    realtime_enabled = models.BooleanField(
        default=True, help_text="Offer the Realtime mode to users (when a key is usable)."
    )
    realtime_model = models.CharField(
        max_length=100,
        default=defaults.REALTIME_MODEL,
        validators=[validate_model_id],
        help_text="Realtime model id sent to OpenAI, e.g. gpt-realtime-2.1 (or -mini).",
    )
    default_voice = models.CharField(
        max_length=50,
        default=defaults.DEFAULT_VOICE,
        help_text="Voice used when a user has not picked one. Must be one of the voices below.",
    )
    voices = models.JSONField(
        default=defaults.realtime_voices,
        validators=[validate_voice_list],
        help_text='Realtime voices users may pick, as a JSON list, e.g. ["marin", "cedar"].',
    )
    tts_voices = models.JSONField(
        "text-to-speech voices",
        default=defaults.tts_voices,
        validators=[validate_voice_list],
        help_text="Voices users may pick in Legacy mode (the speech endpoint), as a JSON list.",
    )
    instructions = models.TextField(
        default=defaults.INSTRUCTIONS,
        blank=True,
        validators=[MaxLengthValidator(defaults.INSTRUCTIONS_MAX_CHARS)],
        help_text="System instructions for the assistant in both modes (at most 4,000 characters).",
    )
    transcription_model = models.CharField(
        max_length=100,
        default=defaults.TRANSCRIPTION_MODEL,
        validators=[validate_model_id],
        help_text="Model that transcribes the user's speech during Realtime calls.",
    )
    # Realtime turn detection, as fields an admin can set safely; `realtime.services`
    # builds OpenAI's `audio.input.turn_detection` object from them.
    turn_detection = models.CharField(
        max_length=20,
        choices=TurnDetection.choices,
        default=TurnDetection.SERVER_VAD,
        help_text=(
            "How a Realtime call knows the user has finished speaking. Server VAD: after a "
            "set silence (the settings below). Semantic VAD: a model judges from the words "
            "whether the user is done, so pauses mid-sentence are not cut off. Manual: nothing "
            "is detected, every user holds a button (or the space bar) to talk."
        ),
    )
    vad_threshold = models.FloatField(
        "speech threshold",
        default=defaults.VAD_THRESHOLD,
        validators=[
            MinValueValidator(defaults.VAD_THRESHOLD_MIN),
            MaxValueValidator(defaults.VAD_THRESHOLD_MAX),
        ],
        help_text=(
            f"Server VAD: how loud sound must be to count as speech, "
            f"{defaults.VAD_THRESHOLD_MIN}–{defaults.VAD_THRESHOLD_MAX} (OpenAI's default 0.5). "
            "Raise it for noisy rooms; too high and quiet speakers are not heard."
        ),
    )
    vad_silence_duration_ms = models.PositiveIntegerField(
        "silence that ends a turn (ms)",
        default=defaults.VAD_SILENCE_DURATION_MS,
        validators=[
            MinValueValidator(defaults.VAD_SILENCE_DURATION_MS_MIN),
            MaxValueValidator(defaults.VAD_SILENCE_DURATION_MS_MAX),
        ],
        help_text=(
            f"Server VAD: how long a pause ends the user's turn, "
            f"{defaults.VAD_SILENCE_DURATION_MS_MIN}–{defaults.VAD_SILENCE_DURATION_MS_MAX} ms. "
            "Shorter answers sooner but cuts in on people who pause to think."
        ),
    )
    vad_prefix_padding_ms = models.PositiveIntegerField(
        "audio kept before speech (ms)",
        default=defaults.VAD_PREFIX_PADDING_MS,
        validators=[MaxValueValidator(defaults.VAD_PREFIX_PADDING_MS_MAX)],
        help_text=(
            f"Server VAD: audio from just before speech was detected that the model still "
            f"hears, so first syllables are not lost; 0–{defaults.VAD_PREFIX_PADDING_MS_MAX} ms."
        ),
    )
    vad_eagerness = models.CharField(
        "semantic VAD eagerness",
        max_length=10,
        choices=Eagerness.choices,
        default=Eagerness.AUTO,
        help_text="Semantic VAD: how soon the assistant answers once the user may be done.",
    )
    vad_interrupt_response = models.BooleanField(
        "the user may interrupt",
        default=True,
        help_text=(
            "Server or semantic VAD: talking over the assistant stops its reply. Off: the "
            "assistant finishes every reply, whatever the user says meanwhile. (With "
            "push-to-talk, pressing the button always stops the reply.)"
        ),
    )
    vad_create_response = models.BooleanField(
        "answer automatically",
        default=True,
        help_text=(
            "Server or semantic VAD: reply when the user's turn ends. Keep this on: off, the "
            "assistant only listens and nothing on the call page asks it to reply."
        ),
    )
    push_to_talk_default = models.BooleanField(
        "push-to-talk by default",
        default=False,
        help_text=(
            "Users who have not chosen for themselves talk by holding a button (or the space "
            "bar), in both modes; each user may change it on the call page."
        ),
    )
    key_policy = models.CharField(
        max_length=20,
        choices=KeyPolicy.choices,
        default=KeyPolicy.USER_THEN_SERVER,
        help_text="Which OpenAI key pays for a user's calls.",
    )
    max_call_minutes = models.PositiveSmallIntegerField(
        default=defaults.MAX_CALL_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Longest call, in minutes (OpenAI ends Realtime sessions at 60).",
    )
    call_starts_per_minute = models.PositiveSmallIntegerField(
        default=defaults.CALL_STARTS_PER_MINUTE,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="How many calls one user may start per minute before being throttled.",
    )
    idle_hangup_minutes = models.PositiveSmallIntegerField(
        default=defaults.IDLE_HANGUP_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Hang a call up when nobody has spoken for this many minutes.",
    )
    context_messages = models.PositiveSmallIntegerField(
        default=defaults.CONTEXT_MESSAGES,
        validators=[MaxValueValidator(200)],
        help_text="Earlier messages sent into a continued call (0: none).",
    )
    monthly_budget_usd = models.DecimalField(
        "monthly budget (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=(
            "What each user may spend a calendar month (UTC) on calls paid by the server's key; "
            "blank: unlimited. Per-user overrides are under User budgets; calls paid by a "
            "user's own key never count."
        ),
    )
    tool_timeout_s = models.PositiveSmallIntegerField(
        "tool timeout (seconds)",
        default=defaults.TOOL_TIMEOUT_S,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How long one tool call may run before the assistant is told it timed out.",
    )
    max_tool_calls_per_call = models.PositiveSmallIntegerField(
        default=defaults.MAX_TOOL_CALLS_PER_CALL,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="How many tool calls the assistant may make in one call; past it, each is "
        "refused and the assistant is told why.",
    )
    stt_model = models.CharField(
        "speech-to-text model",
        max_length=100,
        default=defaults.STT_MODEL,
        validators=[validate_model_id],
        help_text="Legacy mode: the transcription model.",
    )
    llm_model = models.CharField(
        "reply model",
        max_length=100,
        default=defaults.LLM_MODEL,
        validators=[validate_model_id],
        help_text="Legacy mode: the chat model that writes the assistant's replies.",
    )
    tts_model = models.CharField(
        "text-to-speech model",
        max_length=100,
        default=defaults.TTS_MODEL,
        validators=[validate_model_id],
        help_text="Legacy mode: the speech model that reads the replies aloud.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "voice configuration"
        verbose_name_plural = "voice configuration"

    def __str__(self) -> str:
        return "Voice configuration"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_PK  # a second row can never exist
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if isinstance(self.voices, list) and self.default_voice not in self.voices:
            raise ValidationError({"default_voice": "The default voice must be one of the voices."})

    def key_policy_allows(self, source: str) -> bool:
        """Whether the policy lets a key from `source` ("user" or "server") pay for calls."""
        return self.key_policy in (source, KeyPolicy.USER_THEN_SERVER)


class VoicePreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_preference"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.REALTIME)
    voice = models.CharField(
        max_length=50, blank=True, help_text="Blank: the configuration's default voice."
    )
    push_to_talk = models.BooleanField(
        null=True,
        blank=True,
        help_text="Talk only while holding the button. Empty: the configuration's default.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.mode}"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: set by the conversation detail view for its serializer (the typing only).
    page: "MessagePage"

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.created_at:%Y-%m-%d %H:%M}"


class ConversationTerm(models.Model):
    """One word of a conversation, of its title or of a message, as PostgreSQL's `simple` text
    search configuration normalizes it: the search index (`voice.search`). Kept by the services
    that write titles and messages, on PostgreSQL only (empty elsewhere); `manage.py
    voice_search_reindex` builds it for conversations saved before it existed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=TERM_MAX_CHARS)

    class Meta:
        constraints = [
            # Also the search's index: a user's conversations with a term, from the index alone.
            models.UniqueConstraint(
                fields=["user", "term", "conversation"], name="voice_conversation_term_unique"
            )
        ]

    def __str__(self) -> str:
        return self.term


@dataclass(frozen=True)
class CallLimits:
    """The admin's limits on a live call, from `VoiceConfig`."""

    max_duration: timedelta
    idle: timedelta

    @classmethod
    def of(cls, config: VoiceConfig) -> "CallLimits":
        return cls(
            max_duration=timedelta(minutes=config.max_call_minutes),
            idle=timedelta(minutes=config.idle_hangup_minutes),
        )


class CallQuerySet(models.QuerySet["Call"]):
    def live(self) -> "CallQuerySet":
        return self.filter(status__in=Call.LIVE_STATUSES)

    def stale(self, *, now: datetime, limits: CallLimits) -> "CallQuerySet":
        """`Call.stale_reason` as a filter, so a sweep reads only the calls it will end."""
        active = models.Q(status=Call.Status.ACTIVE)
        return self.alias(began=Coalesce("connected_at", "started_at")).filter(
            models.Q(status=Call.Status.CONNECTING, started_at__lt=now - CONNECTING_TIMEOUT)
            | (active & models.Q(began__lt=now - limits.max_duration))
            | (active & models.Q(last_activity_at__lt=now - limits.idle))
        )


class Call(models.Model):
    class Status(models.TextChoices):
        CONNECTING = "connecting"
        ACTIVE = "active"
        ENDED = "ended"
        FAILED = "failed"

    LIVE_STATUSES = (Status.CONNECTING, Status.ACTIVE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_calls"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CONNECTING)
    model = models.CharField(max_length=100, blank=True)
    voice = models.CharField(max_length=50, blank=True)
    upstream_call_id = models.CharField(max_length=200, blank=True, db_index=True)
    # Null only for a start that failed before its new conversation had anything in it: the
    # empty conversation is deleted, the failed call stays for the history and the throttle.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    # The key that started the call (Fernet, like UserApiKey): hangups, the sideband and the
    # cleanup use it, whatever key the user holds later. Emptied once the call is hung up.
    api_key_encrypted = models.TextField(blank=True, editable=False)
    key_source = models.CharField(max_length=10, choices=KeySource.choices, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # When someone last spoke: the idle limit's clock. Null while nobody tracks it (no call
    # monitor has joined the call yet), and then only the other limits apply.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=64, blank=True)
    # The caller's IANA time zone, from the browser (tools such as current_time use it).
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_timezone], help_text="e.g. Europe/Paris"
    )
    # When the call monitor sent the conversation's earlier turns into the call (once per call).
    context_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CallQuerySet.as_manager()

    # Not columns: set by the call detail view for its serializer (the typing only).
    transcript: list["Message"]
    cost: Decimal

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "-started_at"]),
            # The monitor's sweeps read only live calls: a small partial index keeps them cheap.
            models.Index(
                fields=["status"],
                condition=models.Q(status__in=["connecting", "active"]),
                name="voice_call_live",
            ),
        ]
        constraints = [
            # One live call per user, in either mode, even when two requests race.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["connecting", "active"]),
                name="voice_one_live_call_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mode} call {self.id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    def stale_reason(self, *, now: datetime, limits: CallLimits) -> str | None:
        """Why a live call is over although nobody ended it (a closed tab, a lost network, a
        forgotten tab): never connected within CONNECTING_TIMEOUT, active past the admin's
        longest call, or nobody spoke within the idle limit (`CallQuerySet.stale` in SQL)."""
        if self.status == self.Status.CONNECTING and self.started_at < now - CONNECTING_TIMEOUT:
            return EndReason.CONNECT_TIMEOUT
        if self.status != self.Status.ACTIVE:
            return None
        began = self.connected_at or self.started_at
        if began < now - limits.max_duration:
            return EndReason.MAX_DURATION
        if self.last_activity_at and self.last_activity_at < now - limits.idle:
            return EndReason.IDLE
        return None


class CallLease(models.Model):
    """Which call monitor worker watches a live call, until when.

    A row of its own, not fields on `Call`: the worker renews its leases every few seconds, and
    those writes neither rewrite call rows nor wait on the locks the API takes on them. A lease
    not renewed by `expires_at` may be taken over by another worker.
    """

    call = models.OneToOneField(
        Call, on_delete=models.CASCADE, primary_key=True, related_name="lease"
    )
    owner = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner"]), models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.call_id} watched by {self.owner} until {self.expires_at:%H:%M:%S}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"  # the assistant used a tool: `tool` says which, `text` is its line

    class Source(models.TextChoices):
        """How a turn was made: spoken (and transcribed, or spoken by the assistant), or typed
        (and a reply shown as text)."""

        VOICE = "voice"
        TEXT = "text"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    call = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    item_id = models.CharField(max_length=64)
    previous_item_id = models.CharField(max_length=64, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField(blank=True)
    interrupted = models.BooleanField(default=False)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.VOICE)
    # For role "tool" only: {"name", "arguments", "ok"} (ok is null while the tool runs).
    tool = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        # A conversation's messages newest first, read until one matches: search snippets.
        indexes = [models.Index(fields=["conversation", "-created_at", "-id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "item_id"], name="voice_message_item_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


class ToolSetting(models.Model):
    """The admin's switch for one registered tool (`voice.tools`); a tool with no row is on."""

    name = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "tool"

    def __str__(self) -> str:
        return f"{self.name} ({'on' if self.enabled else 'off'})"


# --- usage, prices and budgets -----------------------------------------------------------------


class Unit(models.TextChoices):
    """What OpenAI bills, as one usage record counts it; prices are per `UNIT_PER` of each."""

    TEXT_IN = "text_in", "text input tokens"
    TEXT_IN_CACHED = "text_in_cached", "cached text input tokens"
    TEXT_OUT = "text_out", "text output tokens"
    AUDIO_IN = "audio_in", "audio input tokens"
    AUDIO_IN_CACHED = "audio_in_cached", "cached audio input tokens"
    AUDIO_OUT = "audio_out", "audio output tokens"
    AUDIO_SECONDS = "audio_seconds", "seconds of audio input"
    CHARACTERS = "characters", "characters of text input"


# A price is USD per 1M tokens or characters, and per minute of audio, as OpenAI publishes them.
UNIT_PER: dict[str, Decimal] = {str(unit): Decimal(1_000_000) for unit in Unit}
UNIT_PER[Unit.AUDIO_SECONDS] = Decimal(60)
PRICE_UNIT_LABELS: dict[str, str] = {
    unit: ("per minute" if per == 60 else "per 1M") for unit, per in UNIT_PER.items()
}


class Price(models.Model):
    """One model's price for one unit. Edited in the admin; a usage record keeps the cost at
    the prices of the moment it was recorded, so a change applies from then on."""

    model = models.CharField(
        max_length=100,
        validators=[validate_model_id],
        help_text="The model id as sent to OpenAI; also prices its dated snapshots "
        "(gpt-4o-mini prices gpt-4o-mini-2024-07-18) unless they have their own rows.",
    )
    unit = models.CharField(max_length=20, choices=Unit.choices)
    usd = models.DecimalField(
        "USD",
        max_digits=12,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="USD per 1M tokens or characters; per minute for seconds of audio.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["model", "unit"], name="voice_price_model_unit")
        ]

    def __str__(self) -> str:
        return f"{self.model}: ${self.usd} {PRICE_UNIT_LABELS[self.unit]} {self.get_unit_display()}"


class UsageRecord(models.Model):
    """One billable upstream event (a Realtime response, a transcription, a reply, a speech),
    with the units OpenAI reported and their cost at the prices of that moment."""

    class Kind(models.TextChoices):
        REALTIME_RESPONSE = "realtime_response", "Realtime response"
        REALTIME_TRANSCRIPTION = "realtime_transcription", "Realtime input transcription"
        TRANSCRIPTION = "transcription", "Legacy speech-to-text"
        REPLY = "reply", "Legacy reply"
        SPEECH = "speech", "Legacy speech"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_usage"
    )
    call = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    model = models.CharField(max_length=100)
    key_source = models.CharField(max_length=10, choices=KeySource.choices)
    # OpenAI's id of what was billed (a response id), so a replayed event is recorded once.
    upstream_id = models.CharField(max_length=100, blank=True)
    text_in = models.PositiveBigIntegerField(default=0)
    text_in_cached = models.PositiveBigIntegerField(default=0)
    text_out = models.PositiveBigIntegerField(default=0)
    audio_in = models.PositiveBigIntegerField(default=0)
    audio_in_cached = models.PositiveBigIntegerField(default=0)
    audio_out = models.PositiveBigIntegerField(default=0)
    audio_seconds = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("0"))
    characters = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(
        "cost (USD)", max_digits=12, decimal_places=6, help_text="At the prices of that moment."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "key_source", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "upstream_id"],
                condition=~models.Q(upstream_id=""),
                name="voice_usage_upstream_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.model}): ${self.cost}"

    @property
    def units(self) -> dict[str, Any]:
        return {unit: getattr(self, unit) for unit in Unit.values}


class UserBudget(models.Model):
    """An admin's override of the configuration's monthly budget for one user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_budget"
    )
    monthly_usd = models.DecimalField(
        "monthly budget (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Replaces the configuration's budget for this user; blank: unlimited.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user budget"

    def __str__(self) -> str:
        limit = "unlimited" if self.monthly_usd is None else f"${self.monthly_usd} a month"
        return f"{self.user}: {limit}"
