"""The License manager's admin URLs, under /admin/licensing/ (registered in wagtail_hooks)."""

from django.urls import path

from .views import delete, history, license_manager, products, request, upload

app_name = "wagtail_licensing"

urlpatterns = [
    path("", license_manager.LicenseManagerView.as_view(), name="license_manager"),
    path("products/<str:code>/", products.ProductView.as_view(), name="product"),
    path("products/<str:code>/results/", products.ProductView.as_view(results_only=True),
         name="product_results"),
    path("products/<str:code>/recall/", products.ProductRecallView.as_view(),
         name="product_recall"),
    path("products/<str:code>/grant/", products.ProductGrantView.as_view(),
         name="product_grant"),
    path("products/<str:code>/grant/results/",
         products.ProductGrantView.as_view(results_only=True), name="product_grant_results"),
    path("request/", request.LicenseRequestView.as_view(), name="request"),
    path("upload/", upload.UploadView.as_view(), name="upload"),
    path("upload/<uuid:token>/", upload.UploadPreviewView.as_view(), name="upload_preview"),
    path("delete/", delete.DeleteLicensesView.as_view(), name="delete"),
    path("history/", history.HistoryView.as_view(), name="history"),
    path("history/activity/", history.ActivityView.as_view(), name="activity"),
    path("history/<int:pk>/download/", history.DownloadLicenseFileView.as_view(),
         name="history_download"),
]
