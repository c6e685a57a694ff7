"""A user's voice preferences: the mode they call in, the voice they hear, and whether they
talk by holding a button."""

from enum import Enum

from django.contrib.auth.models import User
from django.db import transaction

from voice.models import VoicePreference


class Unchanged(Enum):
    """Not given: unlike None, which for `push_to_talk` means "follow the admin's default"."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@transaction.atomic
def preference_update(
    *,
    user: User,
    mode: str | None = None,
    voice: str | None = None,
    push_to_talk: bool | Unchanged | None = UNCHANGED,
) -> VoicePreference:
    preference, _ = VoicePreference.objects.select_for_update().get_or_create(user=user)
    if mode is not None:
        preference.mode = mode
    if voice is not None:
        preference.voice = voice
    if push_to_talk is not UNCHANGED:
        preference.push_to_talk = push_to_talk
    preference.save()
    return preference
