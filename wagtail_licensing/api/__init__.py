"""The licensing REST API (Django REST framework, which Wagtail brings), and ``HasLicense``.

Mount the endpoints with ``path("api/licensing/v1/", include("wagtail_licensing.api.urls"))``
(docs/api.md). Every endpoint asks the registered permission policy (CanManageLicUsers), reads
the kept counters and ``rules.status``, and changes licenses only through the actions.
"""

from .licensed import HasLicense

__all__ = ["HasLicense"]
