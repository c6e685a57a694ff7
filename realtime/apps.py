from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime calls"

    def ready(self) -> None:
        from realtime import sideband
        from realtime.services import realtime_call_hang_up
        from voice.models import Mode
        from voice.pipelines import Pipeline, register

        register(Pipeline(mode=Mode.REALTIME, hang_up=realtime_call_hang_up, watch=sideband.watch))
