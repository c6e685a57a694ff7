from django.urls import path

from realtime import apis

urlpatterns = [
    path("realtime/session", apis.RealtimeSessionCreateApi.as_view(), name="realtime-session"),
]
