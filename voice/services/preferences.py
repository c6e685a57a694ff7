"""A user's voice preferences: the mode they call in and the voice they hear."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from voice.models import VoicePreference


@transaction.atomic
def preference_update(
    *, user: AbstractBaseUser, mode: str | None = None, voice: str | None = None
) -> VoicePreference:
    preference, _ = VoicePreference.objects.select_for_update().get_or_create(user=user)
    if mode is not None:
        preference.mode = mode
    if voice is not None:
        preference.voice = voice
    preference.save()
    return preference
