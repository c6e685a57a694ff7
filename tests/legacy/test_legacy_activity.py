"""Each Legacy turn restarts the call's idle clock, so the call monitor's idle limit counts
from the last thing said, not from the start of the call."""

from datetime import timedelta

from django.utils import timezone

from tests.legacy.conftest import wav_bytes
from tests.legacy.test_legacy_api import transcribe
from voice.models import Call


def test_a_legacy_call_starts_its_idle_clock_and_each_turn_restarts_it(api, legacy_call):
    call = Call.objects.get(pk=legacy_call["id"])
    assert call.last_activity_at == call.started_at
    long_ago = timezone.now() - timedelta(minutes=4)
    Call.objects.filter(pk=call.pk).update(last_activity_at=long_ago)

    assert transcribe(api, legacy_call["id"], wav_bytes()).status_code == 200

    assert Call.objects.get(pk=call.pk).last_activity_at > long_ago + timedelta(minutes=3)
