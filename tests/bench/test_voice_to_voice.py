"""bench/voice_to_voice.py's arithmetic: where the page hears the caller's words begin and end,
and how the page's marks become a turn's stages."""

import math

import pytest

from bench.voice_to_voice import Loop, call_starts, legacy_turns, speech_bounds

RATE = 16_000


def burst(start_s: float, end_s: float, total_s: float) -> list[int]:
    """Silence with a steady tone (RMS ≈ 0.2) from start_s to end_s."""
    return [
        int(9000 * math.sin(2 * math.pi * 220 * n / RATE))
        if start_s * RATE <= n < end_s * RATE
        else 0
        for n in range(int(total_s * RATE))
    ]


def test_speech_bounds_are_where_the_sound_begins_and_ends():
    onset, end = speech_bounds(burst(1.0, 2.0, 3.0), RATE)
    assert onset == pytest.approx(1.0, abs=0.006)  # one 5 ms hop
    assert end == pytest.approx(2.0, abs=0.006)


def test_speech_bounds_refuse_a_silent_recording():
    with pytest.raises(ValueError):
        speech_bounds([0] * RATE, RATE)


def mark(name: str, at: float, **detail) -> dict:
    return {"name": name, "startTime": at, "detail": detail}


def test_a_spoken_turn_is_timed_from_the_end_of_its_words():
    loop = Loop(seconds=13.0, onset_s=1.5, speech_end_s=2.9)
    marks = [
        mark(
            "turn:end_turn", 2600, type="end_turn", turn={"startedAt": 1000, "duringReply": False}
        ),
        mark("voice:turn-sent", 2602, turn="user_a", speechStartedAt=1000),
        mark("voice:transcribed", 2950, turn="user_a"),
        mark("voice:first-token", 3200, turn="user_a"),
        mark("voice:first-sentence", 3430, turn="user_a"),
        mark("voice:first-audio", 3640, turn="user_a"),
        # A typed turn and a spoken turn never answered (its transcript was dropped): no rows.
        mark("voice:turn-sent", 5000, turn="user_b", speechStartedAt=None),
        mark("voice:first-audio", 5600, turn="user_b"),
        mark("turn:end_turn", 9000, type="end_turn", turn={"startedAt": 8000, "duringReply": True}),
        mark("voice:turn-sent", 9002, turn="user_c", speechStartedAt=8000),
    ]

    [turn] = legacy_turns(marks, loop)

    assert turn["speech_end"] == pytest.approx(1000 + 10 + 1400)  # onset lag, then the words
    assert turn["detected"] == 2600
    assert turn["first_audio"] - turn["speech_end"] == pytest.approx(1230)
    assert turn["over_reply"] is False


def test_call_starts_pair_each_click_with_the_listening_after_it():
    marks = [
        mark("call:start", 100),
        mark("call:listening", 260),
        mark("call:start", 5000),
        mark("call:listening", 5120),
    ]
    assert call_starts(marks) == [160, 120]
