"""The OpenAPI document (drf-spectacular, the optional ``api`` extra) and its annotations.

Without drf-spectacular the API works the same: the annotations do nothing and there is no
schema endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .authentication import KEYWORD, ApiTokenAuthentication
from .problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from .serializers import GroupRefField, ProblemSerializer, UserRefField

spectacular: Any
try:
    import drf_spectacular.extensions
    import drf_spectacular.openapi
    import drf_spectacular.utils
    import drf_spectacular.views

    spectacular = drf_spectacular
except ImportError:  # pragma: no cover - the api extra is not installed
    spectacular = None

AutoSchema: Any = spectacular.openapi.AutoSchema if spectacular else None
OpenApiResponse: Any = spectacular.utils.OpenApiResponse if spectacular else None
SpectacularAPIView: Any = spectacular.views.SpectacularAPIView if spectacular else None


def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """drf-spectacular's ``extend_schema``, or nothing without it."""
    if spectacular is None:  # pragma: no cover
        return lambda view: view
    decorator: Callable[[Any], Any] = spectacular.utils.extend_schema(*args, **kwargs)

    def decorate(method: Any) -> Any:
        # drf-spectacular's AutoSchema for this method whatever the site's
        # DEFAULT_SCHEMA_CLASS, so that the site needs no REST_FRAMEWORK setting.
        method.schema = AutoSchema
        return decorator(method)

    return decorate


AVAILABLE = SpectacularAPIView is not None
API_MODULE = __name__.rpartition(".")[0]

SETTINGS = {
    "TITLE": "wagtail-licensing API",
    "DESCRIPTION": "The licensing of this Wagtail site: the installed license, its products "
                   "and seats, and who holds them. Errors are RFC 9457 problem details.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "PREPROCESSING_HOOKS": [f"{__name__}.only_licensing_endpoints"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             f"{__name__}.problems_as_problem_json"],
    "COMPONENT_SPLIT_REQUEST": True,
}


def only_licensing_endpoints(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[Any]:
    """The document describes this API only, whatever else the site serves with DRF."""
    return [endpoint for endpoint in endpoints
            if getattr(getattr(endpoint[3], "cls", None), "__module__", "").startswith(
                API_MODULE)]


def problems_as_problem_json(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Error responses are served as ``application/problem+json`` (``problems.py``): say so,
    so that a client (or a schema fuzzer) finds the body's schema under its real type."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(code) >= "400" and "application/json" in content:
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return result


def schema_view() -> Any:
    assert SpectacularAPIView is not None  # noqa: S101 - only called when AVAILABLE
    return SpectacularAPIView.as_view(custom_settings=SETTINGS)


def problem(description: str) -> Any:
    """A documented problem-details response."""
    if OpenApiResponse is None:  # pragma: no cover
        return None
    return OpenApiResponse(ProblemSerializer, description=description)


if spectacular is not None:
    # Registered by being defined (drf-spectacular's extensions are found by subclass).

    class ApiTokenScheme(spectacular.extensions.OpenApiAuthenticationExtension):
        target_class = ApiTokenAuthentication
        name = "apiToken"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {"type": "http", "scheme": KEYWORD.lower(),
                    "description": "A token from Licensing > API tokens."}

    class UserRefFieldSchema(spectacular.extensions.OpenApiSerializerFieldExtension):
        target_class = UserRefField

        def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
            return {"oneOf": [
                {"type": "string", "minLength": 1, "maxLength": 255,
                 "description": "A username."},
                {"type": "integer", "description": "A user id."}]}

    class GroupRefFieldSchema(spectacular.extensions.OpenApiSerializerFieldExtension):
        target_class = GroupRefField

        def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
            return {"oneOf": [
                {"type": "string", "minLength": 1, "maxLength": 150,
                 "description": "A group name."},
                {"type": "integer", "description": "A group id."}]}
