"""Admin URLs of the concurrent sessions screen, under /admin/licensing/sessions/."""

from django.urls import path

from .views import sessions

app_name = sessions.URL_NAMESPACE

urlpatterns = [
    path("", sessions.SessionsView.as_view(), name="index"),
    path("results/", sessions.SessionsView.as_view(results_only=True), name="index_results"),
    path("<int:pk>/release/", sessions.ReleaseSlotView.as_view(), name="release"),
]
