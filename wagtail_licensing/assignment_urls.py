"""Admin URLs of the assignments import and export, under /admin/licensing/assignments/."""

from django.urls import path

from .views import exports, imports

app_name = imports.URL_NAMESPACE

urlpatterns = [
    path("import/", imports.ImportView.as_view(), name="import"),
    path("import/<uuid:token>/", imports.ImportPreviewView.as_view(), name="import_preview"),
    path("export/", exports.ExportView.as_view(), name="export"),
]
