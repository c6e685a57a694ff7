"""Each Legacy turn restarts the call's idle clock, so the call monitor's idle limit counts
from the last thing said, not from the start of the call."""

from tests.legacy.conftest import wav_bytes
from tests.legacy.test_legacy_api import transcribe
from voice.models import Call


def test_a_transcription_records_activity_on_the_call(api, legacy_call):
    assert Call.objects.get(pk=legacy_call["id"]).last_activity_at is None

    assert transcribe(api, legacy_call["id"], wav_bytes()).status_code == 200

    call = Call.objects.get(pk=legacy_call["id"])
    assert call.last_activity_at is not None
    assert call.last_activity_at >= call.started_at
