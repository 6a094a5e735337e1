"""The licensing viewsets' URL namespaces (each viewset's ``name``), kept apart from the
viewsets so that views can build URLs without importing the module that imports them."""

LICENSE_MANAGER_NAMESPACE = "wagtail_licensing"
SYSTEM_USERS_NAMESPACE = "wagtail_licensing_users"
ASSIGNMENTS_NAMESPACE = "wagtail_licensing_assignments"
SESSIONS_NAMESPACE = "wagtail_licensing_sessions"
API_TOKENS_NAMESPACE = "wagtail_licensing_api_tokens"
USAGE_REPORT_NAMESPACE = "wagtail_licensing_usage_report"
GROUPS_NAMESPACE = "wagtail_licensing_groups"
