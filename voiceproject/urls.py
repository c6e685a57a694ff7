from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from voice.views import call_page

urlpatterns = [
    path("", call_page, name="call-page"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("voice.urls")),
    path("api/", include("realtime.urls")),
    path("api/", include("legacy_voice.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from its own URL (`?script`): no inline script,
    # so the docs page runs under the site's Content-Security-Policy.
    path(
        "api/docs",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]
