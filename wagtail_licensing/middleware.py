"""``LicenseEnforcementMiddleware``: the license check on every admin request.

Put it after ``AuthenticationMiddleware`` and ``MessageMiddleware``. It acts on the Wagtail
admin's URLs only; front-end views use ``license_required`` and the API ``HasLicense``. The
decision itself is ``enforcement.gate.check``.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .enforcement import gate


class LicenseEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if gate.is_admin_request(request):
            response = self.check(request)
            if response is not None:
                return response
        return self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """None to let the admin request through, or the response that replaces the view's."""
        return gate.check(request)
