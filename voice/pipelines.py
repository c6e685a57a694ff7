"""The one plug-in point between the core and the pipelines (realtime, legacy).

Each pipeline registers, in its `AppConfig.ready()`, what the core needs to know about calls of
its mode: how to hang one up upstream and how to watch one while it lives. Ending, expiring and
limiting calls are core services that look the pipeline up here, so the core imports none.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from voice.models import Call

# hang_up(call=, api_key=): end the call upstream; an "already ended" answer is success, any
# other failure raises `VoiceError` (the core retries it).
HangUp = Callable[..., Awaitable[None]]
# watch(watched=): follow one live call until it ends upstream (returns the end reason, e.g.
# "upstream_ended") or is cancelled by the monitor (the call ended here, or the lease was lost).
Watch = Callable[..., Awaitable[str | None]]


@dataclass(frozen=True)
class Pipeline:
    mode: str
    hang_up: HangUp | None = None  # None: calls of this mode have no upstream call to end
    watch: Watch | None = None  # None: the call monitor does not attach to calls of this mode


@dataclass
class WatchedCall:
    """What a pipeline's `watch` gets from the call monitor for one call."""

    call: Call
    api_key: str = field(repr=False)  # the key that started the call, never in a repr or log
    on_activity: Callable[[], None]  # someone spoke: restarts the call's idle clock


_pipelines: dict[str, Pipeline] = {}


def register(pipeline: Pipeline) -> None:
    _pipelines[pipeline.mode] = pipeline


def pipeline_for(mode: str) -> Pipeline:
    try:
        return _pipelines[mode]
    except KeyError:
        raise LookupError(f"No pipeline is registered for {mode!r} calls.") from None


def watched_modes() -> list[str]:
    """The modes whose live calls the call monitor attaches to."""
    return [mode for mode, pipeline in _pipelines.items() if pipeline.watch is not None]
