"""License files through the API: upload with a preview (dry run) and a confirm, install at
once, delete, and the license request (``.tlr``) download.

The same steps as the admin's Upload and Request pages, through the same code: the file is
checked by ``UploadLicenseFileForm`` (the admin's size bound) and by the preview and install
actions (the format's bounds, nesting included, and every refusal, worded as in the admin).
A previewed file waits server-side as the admin's ``PendingUpload`` does; the confirmation
names it by its token, and the install checks everything again under the licensing lock.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import BaseParser, DataAndFiles, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import operations
from ..actions.install import InstallResult, UploadPreview
from ..exceptions import AlreadyInstalled, InvalidLicenseFile, LicensingError
from ..forms import LICENSE_FILE_MAX_SIZE, UploadLicenseFileForm
from ..models import LicenseFile, PendingUpload
from ..rules.filenames import safe_filename
from ..views.upload import refusal_message
from . import openapi, problems, serializers
from .openapi import extend_schema
from .views import COMMON_ERRORS, LicensingAPIView

RAW_TYPES = ("application/octet-stream", "text/plain", "application/x-wagtail-license")


class RawLicenseFileParser(BaseParser):
    """The license file as the whole body (``curl --data-binary @file.lic``), read up to one
    byte past the admin's bound, so that a huge body is refused without being read."""

    media_type = "application/octet-stream"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> DataAndFiles:
        request = (parser_context or {}).get("request")
        content = stream.read(LICENSE_FILE_MAX_SIZE + 1) if stream is not None else b""
        name = "license.lic"
        if request is not None:
            name = request.query_params.get("filename", "")[:255] or name
        upload = SimpleUploadedFile(name, content)
        length = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if length.isdigit() and int(length) > len(content):
            upload.size = int(length)  # the admin's message names the file's real size
        return DataAndFiles({}, {"license_file": upload})


def raw_parsers() -> list[type[BaseParser]]:
    return [
        type(f"RawLicenseFileParser{n}", (RawLicenseFileParser,), {"media_type": media})
        for n, media in enumerate(RAW_TYPES)
    ]


def uploaded_content(request: Request) -> tuple[str, bytes]:
    """The file's name and bytes, checked as the admin's upload form checks them."""
    form = UploadLicenseFileForm(data={}, files=request.FILES)
    if not form.is_valid():
        raise exceptions.ValidationError(
            {
                field: [error["message"] for error in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    upload: UploadedFile = form.cleaned_data["license_file"]
    # The name is the client's: kept only as a safe file name (no NUL, no path, no quotes).
    return safe_filename(upload.name or "", default="license.lic"), form.content


def refused(error: LicensingError | DjangoValidationError) -> Exception:
    """A refusal of the file, as the admin words it: a file that is no license file is
    invalid (400, for the ``license_file`` field); one the rules refuse is a conflict."""
    message = refusal_message(error)
    if isinstance(error, InvalidLicenseFile):
        return exceptions.ValidationError({"license_file": [message]})
    kind = "already-installed" if isinstance(error, AlreadyInstalled) else "license-refused"
    return problems.conflict(kind, message)


def file_refusals() -> AbstractContextManager[None]:
    """The preview's and the install's refusals, as ``refused`` words them."""
    return problems.refusals(catch=(LicensingError, DjangoValidationError), problem=refused)


def installed_file_data(license_file: LicenseFile) -> dict[str, Any]:
    return {
        "license_id": license_file.license_id,
        "license_version": license_file.license_version,
        "filename": license_file.filename,
        "issued_at": license_file.issued_at,
        "installed_at": license_file.installed_at,
        "installed_by": license_file.installed_by.get_username()
        if license_file.installed_by
        else None,
    }


def preview_data(preview: UploadPreview) -> dict[str, Any]:
    """What the admin's preview page shows: the file, what it replaces, every product's
    change and the warnings."""
    payload = preview.payload
    return {
        "license": {
            "license_id": payload.license_id,
            "company_id": payload.company_id,
            "license_version": payload.license_version,
            "issued_at": payload.issued_at,
            "instance_id": payload.instance_id,
        },
        "replaces": preview.installed.license_id if preview.installed else None,
        "has_changes": preview.has_changes,
        "changes": [
            {
                "code": change.code,
                "name": change.name,
                "change": str(change.kind),
                "old": change.old,
                "new": change.new,
                "details": [
                    {
                        "field": d["field"],
                        "label": str(d["label"]),
                        "old": d["old"],
                        "new": d["new"],
                    }
                    for d in change.details
                ],
            }
            for change in preview.changes
        ],
        "warnings": [str(warning) for warning in preview.warnings],
    }


def install_data(result: InstallResult) -> dict[str, Any]:
    messages = [
        {
            "level": "success",
            "text": _("License file %(id)s installed.") % {"id": result.license_file.license_id},
        }
    ]
    messages += [{"level": "warning", "text": str(w)} for w in result.preview.warnings]
    return {
        "installed_file": installed_file_data(result.license_file),
        **preview_data(result.preview),
        "messages": messages,
    }


class LicenseFileUploadMixin:
    parser_classes = [MultiPartParser, *raw_parsers()]


UPLOAD_REQUEST = {
    "multipart/form-data": serializers.LicenseFileUploadSerializer,
    **{media: {"type": "string", "format": "binary"} for media in RAW_TYPES},
}
UPLOAD_ERRORS = {
    **COMMON_ERRORS,
    400: openapi.problem(
        "No file, a file over 1 MiB, or not a valid license file: ``errors.license_file`` says why."
    ),
    409: openapi.problem(
        "The rules refuse the file (another site or company, a downgrade, "
        "already installed, every product expired, a site's hook)."
    ),
}


class LicenseFilePreviewView(LicenseFileUploadMixin, LicensingAPIView):
    """Step 1, the dry run: what installing the file would change. Nothing is installed;
    the file waits (six hours) for ``license-file/confirm/`` with the token answered."""

    @extend_schema(
        request=UPLOAD_REQUEST,
        responses={200: serializers.LicenseFilePreviewSerializer, **UPLOAD_ERRORS},
    )
    def post(self, request: Request) -> Response:
        filename, content = uploaded_content(request)
        with file_refusals():
            preview = operations.preview_upload(content, user=request.user)
        pending = PendingUpload.store(
            kind=PendingUpload.Kind.LICENSE_FILE,
            user=request.user,
            filename=filename,
            content=content,
        )
        return Response(
            {
                "token": str(pending.token),
                "filename": pending.filename,
                "expires_at": pending.created_at + PendingUpload.LIFETIME,
                **preview_data(preview),
            }
        )


class LicenseFileConfirmView(LicensingAPIView):
    """Step 2: install the file a preview left waiting (only its uploader can)."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.LicenseFileConfirmSerializer,
        responses={
            200: serializers.LicenseFileInstalledSerializer,
            **UPLOAD_ERRORS,
            404: openapi.problem(
                "No file waits under this token for you (confirmed, expired or another's)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = serializers.LicenseFileConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = body.validated_data["token"]
        kind = PendingUpload.Kind.LICENSE_FILE
        pending = PendingUpload.fetch(kind=kind, user=request.user, token=token)
        if pending is None:
            if PendingUpload.waits_for_another(kind=kind, user=request.user, token=token):
                raise problems.not_found(
                    _(
                        "That file was uploaded by another license manager: only they can confirm "
                        "or cancel it. Nothing was changed; upload the file yourself to see its "
                        "preview."
                    )
                )
            raise problems.not_found(
                _(
                    "That upload is no longer waiting for confirmation (it was confirmed, "
                    "cancelled or has expired). Nothing was changed; upload the file again."
                )
            )
        result = install(bytes(pending.content), request)
        pending.delete()
        return Response(install_data(result))


def install(content: bytes, request: Request) -> InstallResult:
    with file_refusals():
        return operations.install_license_file(content, user=request.user)


class LicenseFileView(LicenseFileUploadMixin, LicensingAPIView):
    """``POST``: install a file at once (the preview's checks run all the same, under the
    lock). ``DELETE``: delete the installed licenses (demo mode; history and assignments
    stay, so uploading the file again restores them)."""

    @extend_schema(
        request=UPLOAD_REQUEST,
        responses={200: serializers.LicenseFileInstalledSerializer, **UPLOAD_ERRORS},
    )
    def post(self, request: Request) -> Response:
        _filename, content = uploaded_content(request)
        return Response(install_data(install(content, request)))

    @extend_schema(
        responses={
            200: serializers.LicenseDeletedSerializer,
            **COMMON_ERRORS,
            409: openapi.problem("No license is installed."),
        }
    )
    def delete(self, request: Request) -> Response:
        previous = operations.delete_licenses(user=request.user)  # refusals: 409
        return Response(
            {
                "deleted": installed_file_data(previous),
                "demo_mode": True,
                "messages": [
                    {
                        "level": "success",
                        "text": _(
                            "The license %(id)s was deleted: the site runs in demo mode. "
                            "Upload a license file to install licenses again."
                        )
                        % {"id": previous.license_id},
                    }
                ],
            }
        )


class LicenseRequestView(LicensingAPIView):
    """The license request (``.tlr``) to send to the vendor, as the admin's Request page
    makes it (the same action: audit entry and ``after_license_request_created`` hooks)."""

    parser_classes = [JSONParser]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        request=serializers.LicenseRequestSerializer,
        responses={
            (200, "application/json"): serializers.LicenseRequestFileSerializer,
            **COMMON_ERRORS,
            400: openapi.problem("No company ID, here or in the settings."),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        body = serializers.LicenseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with problems.refusals(problem=lambda error: exceptions.ValidationError(
                {"company_id": [error.message]})):
            license_request = operations.create_license_request(
                user=request.user,
                company_id=body.validated_data.get("company_id") or None,
                license_version=body.validated_data.get("license_version") or None,
            )
        response = HttpResponse(license_request.content, content_type=license_request.content_type)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=license_request.filename
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
