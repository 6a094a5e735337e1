"""``LicenseEnforcementMiddleware``: the license check on every admin request.

Put it after ``AuthenticationMiddleware`` and ``MessageMiddleware``. It acts on the Wagtail
admin's URLs only; front-end views use ``license_required`` and the API ``HasLicense``. The
decision itself is ``enforcement.gate.check``.

While the database cannot be reached, admin requests get a clear "temporarily unavailable"
page (status 503, ``Retry-After``) instead of a bare server error, whether the check itself or
the view found it out.
"""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from .enforcement import gate

logger = logging.getLogger("wagtail_licensing")

#: What a database that refuses connections (or drops them) raises.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def database_unavailable(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The 503 page: it reads nothing from the database."""
    logger.error("The database could not be reached for %s: %s", request.path, error,
                 exc_info=error)
    response = HttpResponse(render_to_string(
        "wagtail_licensing/enforcement/database_unavailable.html",
        {"retry_after": RETRY_AFTER_SECONDS, "request": request}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class LicenseEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if gate.is_admin_request(request):
            try:
                response = self.check(request)
            except DATABASE_DOWN as error:
                return database_unavailable(request, error)
            if response is not None:
                return response
        return self.get_response(request)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        """An admin view that lost the database: the same 503 page."""
        if isinstance(exception, DATABASE_DOWN) and gate.is_admin_request(request):
            return database_unavailable(request, exception)
        return None

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """None to let the admin request through, or the response that replaces the view's."""
        return gate.check(request)
