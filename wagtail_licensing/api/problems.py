"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers is a ``Problem``: a ``type`` (a URN naming the kind of problem),
a ``title``, the HTTP ``status``, a ``detail`` worded as the admin words it, and extension
members where they help: ``errors`` (per field, for 400), ``unknown`` (users or products not
found, for 404), ``results`` (what a grant did to each product, for a 409 seat conflict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..exceptions import LicensingError, LicensingPermissionDenied

CONTENT_TYPE = "application/problem+json"
URN = "urn:wagtail-licensing:problem:"


class Problem(exceptions.APIException):
    """An error answered as problem details; ``extra`` adds extension members."""

    def __init__(self, status_code: int, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.kind = kind
        self.extra = extra


def not_found(detail: str, **extra: Any) -> Problem:
    return Problem(status.HTTP_404_NOT_FOUND, "not-found", detail, **extra)


def conflict(kind: str, detail: str, **extra: Any) -> Problem:
    return Problem(status.HTTP_409_CONFLICT, kind, detail, **extra)


@contextmanager
def refusals(
    kind: str = "refused",
    *,
    catch: tuple[type[Exception], ...] = (LicensingError,),
    problem: Callable[[Any], Exception] | None = None,
) -> Iterator[None]:
    """Call an action inside: its refusal (a ``LicensingError`` subclass, or what ``catch``
    names) is answered as a problem, a 409 of ``kind`` worded with the action's own message
    unless ``problem`` makes another of it. The action's transaction was rolled back, so
    nothing was changed."""
    try:
        yield
    except catch as error:
        raise (problem(error) if problem else conflict(kind, str(error))) from None


# DRF's own exceptions, by the kind of problem they are.
KINDS: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid-request",
    exceptions.ParseError: "invalid-request",
    exceptions.NotAuthenticated: "not-authenticated",
    exceptions.AuthenticationFailed: "not-authenticated",
    exceptions.PermissionDenied: "permission-denied",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.NotAcceptable: "not-acceptable",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "throttled",
}


def problem_response(status_code: int, kind: str, detail: str, *, instance: str = "",
                     headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": URN + kind,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(body, status=status_code, headers=headers, content_type=CONTENT_TYPE)


def field_errors(detail: Any) -> dict[str, list[str]]:
    """DRF's nested validation errors as ``{"field": ["message", ...]}`` (``users.2`` for an
    item of a list; ``non_field_errors`` for the request as a whole)."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(
                isinstance(item, str) for item in value):
            for index, item in enumerate(value):
                if item:
                    walk(item, f"{path}.{index}" if path else str(index))
        else:
            items = value if isinstance(value, list) else [value]
            out.setdefault(path or "non_field_errors", []).extend(str(i) for i in items)

    walk(detail, "")
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the licensing API: every error as problem details."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, LicensingPermissionDenied):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, LicensingError):
        # Refusals of the actions that no check before them could foresee (demo mode, a
        # race with another writer): nothing was changed.
        exc = conflict("refused", exc.message)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler, and the error in the log
    set_rollback()
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)  # set by APIView.handle_exception: 401
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.kind, str(exc.detail), instance=instance,
                                headers=headers, **exc.extra)
    kind = next((k for cls, k in KINDS.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(exc.status_code, kind,
                                _("The request is not valid: see the errors of each field."),
                                instance=instance, errors=field_errors(exc.detail))
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem_response(exc.status_code, kind, str(detail), instance=instance,
                            headers=headers)
