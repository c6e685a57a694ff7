"""Voice to voice, in a real browser: from the end of the caller's sentence to the first sound
of the reply (Legacy mode, the server's speech-to-text and voice), and from the click on Start
to "listening" (Realtime mode, on a fresh page and again on the same page).

The caller is Chromium's fake microphone playing a WAV it loops: each loop is one turn,
silence, a spoken question (espeak-ng, tests/e2e/speech.py), then silence long enough for the
two-sentence reply to play out. The simulator stands in for the providers: STT 300 ms, first
token 200 ms then 30 tokens/s, speech first byte 150 ms (650 ms in all).

Everything is read from the page's own performance marks, on its own clock:
- "turn:end_turn": the page's VAD has heard the end of the turn (its 600 ms hangover is over);
  its detail.turn.startedAt is when the VAD heard the speech begin;
- "voice:turn-sent", "voice:transcribed", "voice:first-token", "voice:first-sentence",
  "voice:first-audio" (the reply's first buffer is scheduled to play): legacy_call.js;
- "call:start" (the click) and "call:listening": call_page.js.

When the caller's speech ended, on the page's clock: the VAD's onset of each turn anchors that
loop, and the WAV says how long after that onset the words end (measured on the WAV with the
VAD's own levels and window). The onset is sharp (a word's attack), so this is good to about
one 20 ms frame (more when a busy machine runs the page's timers late). Not used: the VAD's
last voiced frame, which depends on how a word's tail decays, and the moment capture starts
plus the loop length, which would add getUserMedia's and the audio pipeline's unknown
delays. Each turn is anchored afresh, so nothing drifts over the 20 turns. The "anchor
check" line prints how far consecutive onsets stray from a whole number of loops: this
method's own error, twice over. The first stage ("turn detected") is then the hangover
(600 ms) plus the analyser's window (21 ms) and a frame's jitter.

`python -m bench.voice_to_voice` (about 6 minutes); `--turns 2 --starts 1` for a smoke run.
"""

import argparse
import contextlib
import itertools
import math
import shutil
import struct
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import app_env, bench_database, daphne, free_port, percentile, simulator

STT_MS, TTFT_MS, TOKENS_PER_S, TTFB_MS = 300, 200, 30, 150
PROVIDERS_MS = STT_MS + TTFT_MS + TTFB_MS
LEGACY_GOAL_MS = 1050
COLD_GOAL_MS, WARM_GOAL_MS = 400, 150
SERVER_KEY = "sk-bench-server-key-000000000000"
QUESTION = "Hello, can you hear me?"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# The WAV's loop. The lead silence lets the first loop calibrate the VAD (400 ms) even when
# listening begins a few hundred ms after the microphone opens; the room after the question
# holds the reply: about 2 s to its first sound, then two sentences of about 3 s each.
LEAD_S = 1.5
REPLY_ROOM_S = 10.0
RATE = 16_000

# The page's VAD (legacy_voice/…/vad.js DEFAULTS) in a silent room: speech starts above this RMS…
START_LEVEL = 0.015
# …and the hangover runs while it stays below this (minStartLevel × 0.6).
END_LEVEL = 0.009
# What the page's analyser averages over (fftSize 1024 at 48 kHz).
WINDOW_S = 1024 / 48_000
# The VAD dates a turn's start one 20 ms frame before the first frame it heard above the
# start level, and that frame comes 0–20 ms after the crossing: 10 ms early, on average.
ONSET_LAG_MS = 10.0


@dataclass(frozen=True)
class Loop:
    seconds: float
    onset_s: float  # where the page's VAD hears the question begin
    speech_end_s: float  # the last sound above the VAD's end level


def speech_bounds(samples: list[int], rate: int) -> tuple[float, float]:
    """(onset, end) in seconds, as the page's VAD hears them: the first moment the RMS over its
    analyser window rises above the start level, and the start of the last window still above
    the end level (the window trails the sound by its length: its start is where the sound is)."""
    window, hop = max(1, round(WINDOW_S * rate)), max(1, rate // 200)
    onset = end = None
    for stop in range(window, len(samples) + 1, hop):
        chunk = samples[stop - window : stop]
        rms = math.sqrt(sum(s * s for s in chunk) / window) / 32768
        if onset is None and rms > START_LEVEL:
            onset = stop / rate
        if rms > END_LEVEL:
            end = (stop - window) / rate
    if onset is None or end is None:
        raise ValueError("no speech the page's VAD would hear")
    return onset, end


def write_caller_wav(path: Path) -> Loop:
    from tests.e2e.speech import RATE as SPEECH_RATE
    from tests.e2e.speech import espeak_at

    assert SPEECH_RATE == RATE
    samples = [0] * int(LEAD_S * RATE) + espeak_at(QUESTION) + [0] * int(REPLY_ROOM_S * RATE)
    onset, end = speech_bounds(samples, RATE)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return Loop(len(samples) / RATE, onset, end)


# --- reading the marks ------------------------------------------------------------------------

STAGES = ["detected", "sent", "transcribed", "first_token", "first_sentence", "first_audio"]
STAGE_MARKS = {f"voice:{stage.replace('_', '-')}": stage for stage in STAGES[2:]}


def legacy_turns(marks: list[dict], loop: Loop) -> list[dict]:
    """Each spoken turn that reached its first audio: the page-clock time (ms) of each stage,
    from "speech_end" to "first_audio", and whether it was said over a reply."""
    ended = {m["detail"]["turn"]["startedAt"]: m for m in marks if m["name"] == "turn:end_turn"}
    by_turn: dict[str, dict] = {}
    for mark in marks:
        stage = STAGE_MARKS.get(mark["name"])
        if stage:
            by_turn.setdefault(mark["detail"]["turn"], {}).setdefault(stage, mark["startTime"])
    turns = []
    for sent in (m for m in marks if m["name"] == "voice:turn-sent"):
        end_turn = ended.get(sent["detail"]["speechStartedAt"])
        stages = by_turn.get(sent["detail"]["turn"], {})
        if end_turn is None or "first_audio" not in stages:
            continue  # a typed turn, or one that was not answered
        onset = end_turn["detail"]["turn"]["startedAt"] + ONSET_LAG_MS
        turns.append(
            {
                "onset": onset,
                "speech_end": onset + (loop.speech_end_s - loop.onset_s) * 1000,
                "detected": end_turn["startTime"],
                "sent": sent["startTime"],
                **stages,
                "over_reply": bool(end_turn["detail"]["turn"]["duringReply"]),
            }
        )
    return turns


def call_starts(marks: list[dict]) -> list[float]:
    """Click → listening (ms) of each call started on a page, in order."""
    clicks = [m["startTime"] for m in marks if m["name"] == "call:start"]
    listening = [m["startTime"] for m in marks if m["name"] == "call:listening"]
    return [heard - click for click, heard in zip(clicks, listening, strict=False)]


# --- the browser ------------------------------------------------------------------------------

MARKS_JS = """performance.getEntriesByType("mark")
  .filter((m) => /^(voice:|call:|turn:end_turn$)/.test(m.name))
  .map((m) => ({ name: m.name, startTime: m.startTime, detail: m.detail }))"""


@contextlib.contextmanager
def browser_with_mic(wav: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    args = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            browser.close()


def logged_in_context(browser, app: str, session_key: str):
    # bypass_csp: Playwright's polling (wait_for_function) evaluates code, which the page's
    # Content-Security-Policy rightly forbids.
    context = browser.new_context(base_url=app, permissions=["microphone"], bypass_csp=True)
    context.add_cookies([{"name": "sessionid", "value": session_key, "url": app}])
    context.set_default_timeout(30_000)
    return context


def open_call_page(context, mode: str):
    page = context.new_page()
    page.goto("/")
    page.wait_for_function(
        f"""document.querySelector("#voice-mode").value === "{mode}"
            && !document.querySelector("#call-start").disabled"""
    )
    # A caller clicks a moment after the page shows: its own start-up (the status socket, the
    # settings) is not the call's to pay for.
    page.wait_for_timeout(1000)
    return page


def wait_for_status(page, word: str, seconds: float = 30) -> None:
    page.wait_for_function(
        f'document.querySelector("[data-testid=call-status]").textContent.trim() === "{word}"',
        timeout=seconds * 1000,
    )


def no_live_call(api: httpx.Client, seconds: float = 15) -> None:
    """Wait until the server has ended every call: a start right after an end waits for it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        calls = api.get("/api/calls").raise_for_status().json()["results"]
        if not any(call["status"] in {"connecting", "active"} for call in calls):
            return
        time.sleep(0.1)
    raise RuntimeError("a call was still live on the server")


def run_legacy(browser, app: str, session_key: str, loop: Loop, turns: int) -> list[dict]:
    """One Legacy call for the warm-up turn and `turns` more; the page's marks."""
    context = logged_in_context(browser, app, session_key)
    try:
        page = open_call_page(context, "legacy")
        engines = page.evaluate(
            '[document.querySelector("#stt-picker").value,'
            ' document.querySelector("#tts-picker").value]'
        )
        if engines != ["server", "server"]:
            raise RuntimeError(f"speech engines {engines}, not the server's")
        page.get_by_test_id("call-start").click()
        wait_for_status(page, "listening")
        page.wait_for_function(
            f'performance.getEntriesByName("voice:first-audio").length >= {turns + 1}',
            timeout=((turns + 1) * loop.seconds + 30) * 1000,
        )
        marks = page.evaluate(MARKS_JS)
        page.get_by_test_id("call-end").click()
        wait_for_status(page, "ended")
        return marks
    finally:
        context.close()


def run_realtime(browser, app: str, session_key: str, api: httpx.Client, starts: int):
    """`starts` fresh pages, two calls each: (cold, warm) click → listening, in ms."""
    cold, warm = [], []
    context = logged_in_context(browser, app, session_key)
    try:
        for _ in range(starts):
            page = open_call_page(context, "realtime")
            for _call in range(2):
                no_live_call(api)
                page.get_by_test_id("call-start").click()
                wait_for_status(page, "listening")
                page.get_by_test_id("call-end").click()
                wait_for_status(page, "ended")
            first, second = call_starts(page.evaluate(MARKS_JS))
            cold.append(first)
            warm.append(second)
            page.close()
        no_live_call(api)
    finally:
        context.close()
    return cold, warm


# --- the report -------------------------------------------------------------------------------

STAGE_NAMES = {
    "detected": "speech end → turn detected (hangover)",
    "sent": "→ turn sent (recording closed)",
    "transcribed": f"→ transcription done (upload, STT {STT_MS})",
    "first_token": f"→ first token (first token {TTFT_MS})",
    "first_sentence": "→ first sentence complete",
    "first_audio": f"→ first audio scheduled (speech {TTFB_MS})",
}


def p50_p90(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 50):6.0f} ms   p90 {percentile(samples, 90):6.0f} ms"


def report_legacy(turns: list[dict], loop: Loop) -> bool:
    measured = [t for t in turns[1:] if not t["over_reply"]]  # the first warms up
    print(f"== Legacy (server speech-to-text and voice): {len(measured)} turns")
    if not measured:
        print("   no turn was answered: nothing to measure")
        return False
    if len(measured) < len(turns) - 1:
        print(f"   ({len(turns) - 1 - len(measured)} turns said over a reply were left out)")
    loop_ms = loop.seconds * 1000
    spacing = [b["onset"] - a["onset"] for a, b in itertools.pairwise(turns)]
    if spacing:  # a whole number of loops apart (a turn may have gone unanswered)
        spread = max(abs(s - round(s / loop_ms) * loop_ms) for s in spacing)
        print(f"   anchor check: onsets a loop ({loop_ms:.0f} ms) apart ± {spread:.0f} ms")
    previous = "speech_end"
    for stage in STAGES:
        print(f"   {STAGE_NAMES[stage]:<44} {p50_p90([t[stage] - t[previous] for t in measured])}")
        previous = stage
    total = [t["first_audio"] - t["speech_end"] for t in measured]
    met = percentile(total, 50) <= LEGACY_GOAL_MS
    print(f"   speech end → first audio: {p50_p90(total)}")
    print(f"   providers' sum (STT + first token + speech first byte): {PROVIDERS_MS} ms")
    print(f"   goal p50 ≤ {LEGACY_GOAL_MS} ms -> {'OK' if met else 'MISSED'}")
    return met


def report_realtime(cold: list[float], warm: list[float]) -> bool:
    print(f"== Realtime: click → listening, {len(cold)} fresh pages, a second call on each")
    met = True
    for name, samples, goal in (("cold", cold, COLD_GOAL_MS), ("warm", warm, WARM_GOAL_MS)):
        ok = percentile(samples, 50) <= goal
        met &= ok
        print(f"   {name}: {p50_p90(samples)}   goal p50 ≤ {goal} ms -> {'OK' if ok else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20, help="Legacy turns measured")
    parser.add_argument("--starts", type=int, default=10, help="Realtime fresh pages")
    options = parser.parse_args()
    sim_port, app_port = free_port(), free_port()
    knobs = [
        f"--stt-latency-ms={STT_MS}",
        f"--llm-ttft-ms={TTFT_MS}",
        f"--llm-tokens-per-s={TOKENS_PER_S}",
        f"--tts-ttfb-ms={TTFB_MS}",
        "--chat-sentences=2",
    ]
    with tempfile.TemporaryDirectory() as folder, bench_database(1) as (url, users):
        loop = write_caller_wav(Path(folder) / "caller.wav")
        _, token, session_key = users[0]
        sim = f"http://127.0.0.1:{sim_port}"
        env = app_env(
            url,
            OPENAI_BASE_URL=f"{sim}/v1",
            OPENAI_API_KEY=SERVER_KEY,
            VOICE_SERVE_STATIC="true",  # no reverse proxy in front of daphne here
            SESSION_COOKIE_SECURE="false",  # plain HTTP on loopback
            CSRF_COOKIE_SECURE="false",
        )
        app = f"http://127.0.0.1:{app_port}"
        headers = {"Authorization": f"Token {token}"}
        with (
            simulator(sim_port, *knobs),
            daphne(app_port, env),
            httpx.Client(base_url=app, headers=headers, timeout=30) as api,
            browser_with_mic(Path(folder) / "caller.wav") as browser,
        ):
            # One question, always: the reply's first sentence quotes it, so it is as long
            # in every turn.
            httpx.post(f"{sim}/_sim/config", json={"user_texts": [QUESTION]}).raise_for_status()
            api.patch("/api/voice/preferences", json={"mode": "legacy"}).raise_for_status()
            marks = run_legacy(browser, app, session_key, loop, options.turns)
            api.patch("/api/voice/preferences", json={"mode": "realtime"}).raise_for_status()
            cold, warm = run_realtime(browser, app, session_key, api, options.starts)
    legacy_met = report_legacy(legacy_turns(marks, loop), loop)
    realtime_met = report_realtime(cold, warm)
    return 0 if legacy_met and realtime_met else 1


if __name__ == "__main__":
    sys.exit(main())
