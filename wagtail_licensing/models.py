from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .conf import licensing_settings
from .dates import site_today
from .license_file import MAX_ID_LENGTH, MAX_NAME_LENGTH
from .rules.labels import product_label
from .rules.status import ProductFacts, ProductStatus, product_status

MANAGE_PERMISSION = "wagtail_licensing.can_manage_lic_users"


def has_field(model: type[models.Model], name: str) -> bool:
    """Whether ``model`` has a field ``name`` (custom user models may lack some)."""
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class ProductType(models.TextChoices):
    NAMED = "named", _("Named")
    CONCURRENT = "concurrent", _("Concurrent")
    PORTAL = "portal", _("Portal")


class AssignmentSource(models.TextChoices):
    MANUAL = "manual", _("Manual")
    BULK = "bulk", _("Bulk action")
    IMPORT = "import", _("Import")
    PORTAL = "portal", _("Portal account")
    COMMAND = "command", _("Management command")
    API = "api", _("API")
    GROUP = "group", _("Group")


class Ineligibility(models.TextChoices):
    """Why a user cannot hold a product (``LicensedProduct.ineligibility``)."""

    INACTIVE = "inactive", _("The user is inactive")
    PORTAL_ONLY = "portal_only", _("Only portal users can hold the product")
    NOT_FOR_PORTAL = "not_for_portal", _("Portal users cannot hold the product")


class LicensingState(models.Model):
    """The site's licensing singleton: instance ID, installed file and a version caches key on.

    Licensing audit log entries are logged against this object, and it carries the
    CanManageLicUsers permission, so that license managers see those entries in Site history.
    """

    instance_id = models.UUIDField(_("instance ID"), default=uuid.uuid4, editable=False)
    installed_file = models.ForeignKey(
        "LicenseFile", verbose_name=_("installed license file"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    version = models.PositiveBigIntegerField(default=1, editable=False)
    # Renewed (after commit) when groups, permissions or user accounts change what a cached
    # decision depends on, so that every process, whatever its cache, recomputes them within
    # STATE_RECHECK_SECONDS (``enforcement.snapshot``). Not licensing state: no action bumps it.
    access_epoch = models.PositiveBigIntegerField(default=1, editable=False)
    # How many products are bound to groups (``GroupLicense`` rows), kept by the group actions
    # (``GroupLicensesAction.recount_bindings``): a user's deactivation or reactivation reads
    # it from the row its lock loads anyway, so that a site without bindings pays no query for
    # group licensing there.
    group_bindings = models.PositiveIntegerField(default=0, editable=False)
    # How many users hold at least one license (assignment), kept by the actions with the seat
    # counters (``actions.counters``): System users' "Holds a license" and "Holds no license"
    # (the user census's users less these) count their pages from it.
    license_holders = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("licensing")
        verbose_name_plural = _("licensing")
        default_permissions = ()
        permissions = [
            ("can_manage_lic_users", _("Can manage user licenses (CanManageLicUsers)")),
        ]

    def __str__(self) -> str:
        return str(_("Licensing"))

    SINGLETON_PK = 1

    @classmethod
    def get(cls) -> LicensingState:
        state, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return state

    @classmethod
    def get_with_installed_file(cls) -> LicensingState:
        """The singleton with its installed file and that file's installer, in one query."""
        queryset = cls.objects.select_related("installed_file__installed_by")
        state = queryset.filter(pk=cls.SINGLETON_PK).first()
        if state is None:  # a fresh site: create the singleton once
            state = queryset.get(pk=cls.get().pk)
        return state

    @classmethod
    def lock(cls) -> LicensingState:
        """Take the licensing write lock: every state change holds this row lock (PostgreSQL)."""
        cls.get()  # outside the lock, so that creating it never deadlocks
        return cls.objects.select_for_update(of=("self",)).select_related("installed_file").get(
            pk=cls.SINGLETON_PK
        )

    @property
    def demo_mode(self) -> bool:
        return self.installed_file_id is None

    def licenses_deleted(self) -> bool:
        """Demo mode on a site that had a license: its licenses were deleted (one query)."""
        return self.installed_file_id is None and LicenseFile.objects.exists()

    def newest_installed(self, company_id: str) -> LicenseFile | None:
        """The newest file (by ``issued_at``) ever installed for ``company_id``, installed or
        not: older files are downgrades, after a delete too (one query)."""
        return (LicenseFile.objects.filter(company_id=company_id)
                .order_by("-issued_at", "-id").first())

    def bump_version(self) -> int:
        """Record a change of licensing state; returns the new version.

        The actions publish it to the cache once the transaction commits
        (``actions.base``), so that this model never depends on the cache.
        """
        type(self).objects.filter(pk=self.pk).update(version=F("version") + 1)
        self.refresh_from_db(fields=["version"])
        return self.version

    @classmethod
    def bump_access_epoch(cls) -> int | None:
        """Record a change of groups, permissions or accounts; returns the new epoch, or None on
        a site that has no state row yet (nothing is cached then).

        Called after the change commits (``enforcement.snapshot``), in a statement of its own,
        so that a user or group saved in a long transaction never holds the row lock that
        licensing actions take."""
        singleton = cls.objects.filter(pk=cls.SINGLETON_PK)
        singleton.update(access_epoch=F("access_epoch") + 1)
        return singleton.values_list("access_epoch", flat=True).first()


class LicenseFile(models.Model):
    """An installed license file, kept as history with its original text."""

    license_id = models.CharField(_("license ID"), max_length=MAX_ID_LENGTH, db_index=True)
    company_id = models.CharField(_("company ID"), max_length=MAX_ID_LENGTH)
    instance_id = models.CharField(_("instance ID"), max_length=MAX_ID_LENGTH, blank=True,
                                   null=True)
    license_version = models.CharField(_("license version"), max_length=MAX_ID_LENGTH,
                                       blank=True, null=True)
    issued_at = models.DateTimeField(_("issued at"))
    kid = models.CharField(_("key ID"), max_length=MAX_ID_LENGTH)
    content = models.TextField(_("file content"))
    payload = models.JSONField(_("payload"))
    installed_at = models.DateTimeField(_("installed at"), default=timezone.now)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("installed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("license file")
        verbose_name_plural = _("license files")
        ordering = ["-installed_at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.license_id

    @property
    def filename(self) -> str:
        return f"{self.license_id}.lic"


class LicensedProductQuerySet(models.QuerySet["LicensedProduct"]):
    def installed(self) -> LicensedProductQuerySet:
        """Products of the installed license file (none in demo mode)."""
        installed = LicensingState.objects.filter(pk=LicensingState.SINGLETON_PK).values(
            "installed_file_id"
        )
        return self.filter(license_file_id=Subquery(installed[:1]))

    def with_usage(self) -> LicensedProductQuerySet:
        """Annotate ``used`` (seats taken), ``holders``, ``active_holders`` (and of them
        ``active_portal_holders``) and ``slots_used``.

        One query, whose cost grows with the number of products, never with assignments:
        the first three are read from the counters the actions keep (``ProductUsage``), the
        sessions in use are counted from the sessions table, which holds at most one row per
        signed-in session of a concurrent product.
        """
        usage = ProductUsage.objects.filter(product_code=OuterRef("code"))

        def kept(field: str) -> Coalesce:
            return Coalesce(Subquery(usage.values(field)[:1]), Value(0))

        slots = ConcurrentSession.objects.live().filter(product_code=OuterRef("code")).order_by()
        return self.annotate(
            used=kept("used"),
            holders=kept("holders"),
            active_holders=kept("active_holders"),
            active_portal_holders=kept("active_portal_holders"),
            slots_used=Coalesce(
                Subquery(slots.values("product_code").annotate(n=Count("pk")).values("n")[:1]),
                Value(0),
            ),
        )


class LicensedProduct(models.Model):
    license_file = models.ForeignKey(LicenseFile, on_delete=models.CASCADE,
                                     related_name="products")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=MAX_NAME_LENGTH)
    type = models.CharField(_("type"), max_length=20, choices=ProductType.choices)
    seats = models.PositiveIntegerField(_("seats"), null=True, blank=True,
                                        help_text=_("Empty means unlimited."))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))

    objects = LicensedProductQuerySet.as_manager()

    # Annotated by ``LicensedProduct.objects.with_usage()``.
    used: int
    holders: int
    active_holders: int
    active_portal_holders: int
    slots_used: int

    class Meta:
        verbose_name = _("licensed product")
        verbose_name_plural = _("licensed products")
        ordering = ["license_file", "type", "code"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["license_file", "code"],
                                    name="wagtail_licensing_unique_product_per_file"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """"Name (code)", as every surface names a product."""
        return product_label(self.name, self.code)

    @property
    def unlimited(self) -> bool:
        return self.seats is None

    @property
    def counts_seats(self) -> bool:
        """Named and portal products are limited per user; concurrent ones per session."""
        return self.seats is not None and self.type != ProductType.CONCURRENT

    @property
    def in_use(self) -> int:
        """Seats (named, portal) or sessions (concurrent) taken now; needs ``with_usage()``."""
        return self.slots_used if self.type == ProductType.CONCURRENT else self.used

    @property
    def available(self) -> int | None:
        """Seats left, or None when unlimited. Needs ``with_usage()``."""
        if self.seats is None:
            return None
        return max(self.seats - self.in_use, 0)

    @property
    def over_allocated(self) -> bool:
        """More active holders than seats: some of them have no seat. Needs ``with_usage()``."""
        return self.seats is not None and self.counts_seats and self.active_holders > self.seats

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until

    # Eligibility: the one definition of "can this product be granted to this user today",
    # which grants, imports, the product page and the Licenses tab all ask.

    def is_grantable_on(self, day: date) -> bool:
        """Whether the product may be granted on ``day``: within its validity dates (the grace
        period keeps access for holders, but never lets anyone new in)."""
        return self.is_valid_on(day)

    @property
    def for_portal_users(self) -> bool:
        """Portal products go to portal users only; every other product to non-portal users."""
        return self.type == ProductType.PORTAL

    def ineligibility(self, *, is_active: bool, is_portal: bool) -> Ineligibility | None:
        """Why a user with these flags cannot hold the product, or None if they can.

        The same rule as ``eligible_users``, for users already loaded as values.
        """
        if not is_active:
            return Ineligibility.INACTIVE
        if bool(is_portal) != self.for_portal_users:
            if self.for_portal_users:
                return Ineligibility.PORTAL_ONLY
            return Ineligibility.NOT_FOR_PORTAL
        return None

    def eligible_users(self, users: models.QuerySet[Any] | None = None) -> models.QuerySet[Any]:
        """The users of ``users`` (default: all) who may hold the product: active, and portal
        users exactly when it is a portal product. The SQL form of ``ineligibility``."""
        if users is None:
            users = get_user_model()._default_manager.all()
        return (users.filter(is_active=True)
                .annotate(_portal=is_portal_user_expression())
                .filter(_portal=self.for_portal_users))

    def grant_candidates(self) -> models.QuerySet[Any]:
        """The users it could be granted to ("Add users"): eligible, and not holding it yet."""
        return self.eligible_users().exclude(Exists(LicenseAssignment.objects.filter(
            user_id=OuterRef("pk"), product_code=self.code)))

    def grant_candidate_count(self) -> int:
        """``grant_candidates().count()``, counting nothing: the active users of its kind
        (``UserCensus``), less the active holders of that kind (the counters the actions keep;
        needs ``with_usage()``). One query, at any number of users."""
        _users, active, portal = UserCensus.kept()
        portal_holders = self.active_portal_holders
        if self.for_portal_users:
            return max(portal - portal_holders, 0)
        return max((active - portal) - (self.active_holders - portal_holders), 0)

    @cached_property
    def today(self) -> date:
        return site_today()

    @property
    def status(self) -> ProductStatus:
        """The product's status today (``rules.status``); needs ``with_usage()``."""
        return product_status(ProductFacts.of(self), self.today)

    @property
    def days_left(self) -> int:
        return (self.valid_until - self.today).days


# Where an assignment is held from, as the filters name it (System users' "Source" filter,
# the API's ``held``): ``direct`` (granted directly, whether or not a group gives it too),
# ``inherited`` (through a group, whether or not also directly), ``both`` (both ways).
HELD_DIRECT, HELD_INHERITED, HELD_BOTH = "direct", "inherited", "both"
HELD_KINDS = (HELD_DIRECT, HELD_INHERITED, HELD_BOTH)


def held_through_group() -> Exists:
    """An assignment's user holds its product through a group (on ``LicenseAssignment`` rows)."""
    return Exists(GroupLicenseSource.objects.filter(
        user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))


# ... and as the exports' Source column and the API's ``held`` say it of one assignment.
HELD_SOURCES = ("direct", "group", "direct+group")


def held_source() -> models.Case:
    """Where an assignment comes from (``HELD_SOURCES``): ``group`` (only through groups),
    ``direct+group`` or ``direct``; ``held_source_of`` says the same of one assignment."""
    direct, group, both = HELD_SOURCES
    return models.Case(
        models.When(direct=False, then=Value(group)),
        models.When(held_through_group(), then=Value(both)),
        default=Value(direct), output_field=models.CharField())


def held_source_of(direct: bool, through_group: bool) -> str:
    """``held_source()`` of one assignment whose sources are read already (a page of the API:
    a subquery per row would be evaluated for every row a sorted page skips)."""
    if not direct:
        return HELD_SOURCES[1]
    return HELD_SOURCES[2] if through_group else HELD_SOURCES[0]


class LicenseAssignmentQuerySet(models.QuerySet["LicenseAssignment"]):
    def held(self, kind: str) -> LicenseAssignmentQuerySet:
        """Assignments held ``kind`` (``HELD_KINDS``): the one rule of System users' Source
        filter (a user with such an assignment) and of the API's ``held`` filter."""
        if kind == HELD_DIRECT:
            return self.filter(direct=True)
        if kind == HELD_INHERITED:
            return self.filter(held_through_group())
        if kind == HELD_BOTH:
            return self.filter(held_through_group(), direct=True)
        raise ValueError(kind)

    def with_seat(self) -> LicenseAssignmentQuerySet:
        """Assignments that take a seat: granted within the seats, to an active user."""
        return self.filter(has_seat=True, user__is_active=True)

    def idle(self, days: int, today: date | None = None) -> LicenseAssignmentQuerySet:
        """Assignments whose holder has not used the product for ``days`` days: last active
        before then, or never since they were granted before then. The one definition of
        "idle" (the usage report, System users' filter, recall of idle seats, reclaim)."""
        cutoff = (today or site_today()) - timedelta(days=days)
        granted_before = datetime.combine(cutoff, time.min,
                                          tzinfo=timezone.get_default_timezone())
        return self.filter(
            models.Q(last_active_on__lt=cutoff)
            | models.Q(last_active_on__isnull=True, granted_at__lt=granted_before))

    def active_since(self, day: date) -> LicenseAssignmentQuerySet:
        return self.filter(last_active_on__gte=day)

    def reclaimable(self, days: int, today: date | None = None, *,
                    spared_users: models.QuerySet) -> LicenseAssignmentQuerySet:
        """What the automatic reclaim may take once idle ``days``: the one home of that
        selection (its notices, its recall, the re-arming of notices all read it).

        Of active users (inactive ones hold no seat), never of ``spared_users`` (the license
        managers: this module cannot ask the permission policy, which imports it), and never
        an assignment held through a group: recalling it would free no seat (the group keeps
        it), so the way to free it is to take the user out of the group."""
        return (self.filter(user__is_active=True).idle(days, today)
                .exclude(user_id__in=spared_users.order_by().values("pk"))
                .exclude(held_through_group()))


class LicenseAssignment(models.Model):
    """A user holds a product (by code, so that it survives a new license file)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE, related_name="license_assignments")
    product_code = models.CharField(_("product code"), max_length=64)
    has_seat = models.BooleanField(
        _("has a seat"), default=True,
        help_text=_("False when the product is over-allocated or the user is inactive."),
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    source = models.CharField(_("source"), max_length=20, choices=AssignmentSource.choices,
                              default=AssignmentSource.MANUAL)
    # Granted to the user directly (by hand, import, API...). False: held only through groups
    # (``GroupLicenseSource``); the assignment, and its one seat, goes when the last source goes.
    direct = models.BooleanField(
        _("granted directly"), default=True, db_default=True,
        help_text=_("False when the user holds the product only through groups."))
    # The site's day of the holder's last request that used the product (an admin request, or
    # a front-end view behind ``license_required``); written at most once a day per user
    # (``enforcement.activity``). None: not used since usage history was installed.
    last_active_on = models.DateField(_("last active on"), null=True, blank=True)

    objects = LicenseAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("license assignment")
        verbose_name_plural = _("license assignments")
        ordering = ["product_code", "granted_at", "id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["user", "product_code"],
                                    name="wagtail_licensing_unique_assignment"),
        ]
        indexes = [
            models.Index(fields=["product_code", "has_seat"],
                         name="wagtail_lic_product_seat_idx"),
            # A product's holders in the order its page lists them (and this Meta.ordering):
            # the first page without sorting every holder.
            models.Index(fields=["product_code", "granted_at", "id"],
                         name="wagtail_lic_granted_idx"),
            # System users' "Holds a license without a seat": few rows, probed once per user.
            models.Index(fields=["user"], condition=models.Q(has_seat=False),
                         name="wagtail_lic_no_seat_idx"),
            # Idle holders of a product (the usage report, reclaim, the daily snapshot).
            models.Index(fields=["product_code", "last_active_on"],
                         name="wagtail_lic_activity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_code} → {self.user_id}"


class GroupLicense(models.Model):
    """A product bound to a Wagtail group: every eligible member holds it (``actions.groups``).

    ``priority`` orders the groups of one product when there are not enough seats for every
    member: lower first, then the earliest membership.
    """

    group = models.ForeignKey("auth.Group", verbose_name=_("group"), on_delete=models.CASCADE,
                              related_name="licensing_bindings")
    product_code = models.CharField(_("product code"), max_length=64)
    priority = models.PositiveIntegerField(
        _("priority"), default=100,
        help_text=_("Groups with a lower number are seated first when seats run out."))
    bound_at = models.DateTimeField(_("bound at"), default=timezone.now)
    bound_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("bound by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("group license")
        verbose_name_plural = _("group licenses")
        ordering = ["product_code", "priority", "group_id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["group", "product_code"],
                                    name="wagtail_licensing_unique_group_license"),
        ]

    def __str__(self) -> str:
        return f"{self.product_code} → {self.group_id}"


class GroupLicenseSource(models.Model):
    """One group through which a user holds a product. The user's ``LicenseAssignment`` stays
    one row (one seat) however many sources it has."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE, related_name="licensing_group_sources")
    product_code = models.CharField(_("product code"), max_length=64)
    group = models.ForeignKey("auth.Group", verbose_name=_("group"), on_delete=models.CASCADE,
                              related_name="+")

    class Meta:
        verbose_name = _("group license source")
        verbose_name_plural = _("group license sources")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["user", "product_code", "group"],
                                    name="wagtail_licensing_unique_group_source"),
        ]
        indexes = [models.Index(fields=["product_code", "group"],
                                name="wagtail_lic_source_group_idx")]

    def __str__(self) -> str:
        return f"{self.product_code} → {self.user_id} via {self.group_id}"


class GroupLicenseErrorReason(models.TextChoices):
    """Why a member of a bound group holds no assignment of the group's product."""

    NOT_ENOUGH_SEATS = "not_enough_seats", _("Not enough seats")
    NOT_ELIGIBLE = "not_eligible", _("The user cannot hold this type of product")
    NOT_INSTALLED = "not_installed", _("The product is not in the installed license")
    NOT_GRANTABLE = "not_grantable", _("The product is outside its validity dates")


class GroupLicenseError(models.Model):
    """A member of a bound group who could not be given the group's product: never silent,
    shown on the user's Licenses tab, System users, the License manager and ``licensing
    status``; resolved by reprocessing (also run by installs and recalls)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE, related_name="licensing_group_errors")
    product_code = models.CharField(_("product code"), max_length=64)
    group = models.ForeignKey("auth.Group", verbose_name=_("group"), on_delete=models.CASCADE,
                              related_name="+")
    reason = models.CharField(_("reason"), max_length=20,
                              choices=GroupLicenseErrorReason.choices)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("group licensing error")
        verbose_name_plural = _("group licensing errors")
        ordering = ["product_code", "group_id", "user_id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["user", "product_code", "group"],
                                    name="wagtail_licensing_unique_group_error"),
        ]

    def __str__(self) -> str:
        return f"{self.product_code} → {self.user_id} via {self.group_id}: {self.reason}"


class ProductUsage(models.Model):
    """The seats used and holders of one product code, kept rather than counted.

    Every page, form, panel, preview and status reads these (``LicensedProduct.objects.
    with_usage()``), so their cost does not grow with the number of assignments. Only the
    actions write them, under the licensing lock, in the same transaction as the assignments
    they count (``actions.counters``); ``manage.py licensing verify`` recounts them from the
    assignments and repairs any drift (``--fix``), for example after site code changed
    ``LicenseAssignment`` rows or ``is_active`` with a bare ``UPDATE``.
    """

    product_code = models.CharField(_("product code"), max_length=64, primary_key=True)
    holders = models.PositiveIntegerField(_("holders"), default=0)
    active_holders = models.PositiveIntegerField(_("active holders"), default=0)
    used = models.PositiveIntegerField(
        _("seats used"), default=0, help_text=_("Active holders with a seat."))
    # Of the active holders, the portal users: with ``UserCensus``, what "Add users" counts
    # its candidates from (``LicensedProduct.grant_candidate_count``).
    active_portal_holders = models.PositiveIntegerField(
        _("active portal holders"), default=0,
        help_text=_("Active holders who are portal users."))

    class Meta:
        verbose_name = _("product usage")
        verbose_name_plural = _("product usage")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.product_code}: {self.used} used, {self.holders} holders"


class UserCensus(models.Model):
    """How many user accounts there are, how many are active, and how many of those are portal
    users: kept, not counted, so that "Add users" and System users' "Holds no license" number
    their pages without counting every user.

    Not licensing state, but a count of accounts, like ``LicensingState.access_epoch``: moved
    by the user and portal user signals once the change commits, in a statement of its own
    (``census``), so that a user saved in a long transaction never holds its row lock. Site
    code that changes ``is_active`` or creates users with a bare ``UPDATE`` or ``bulk_create``
    reaches no signal: ``manage.py licensing verify`` recounts it and ``--fix`` repairs it.
    """

    SINGLETON_PK = 1

    users = models.PositiveIntegerField(_("users"), default=0)
    active_users = models.PositiveIntegerField(_("active users"), default=0)
    active_portal_users = models.PositiveIntegerField(_("active portal users"), default=0)

    class Meta:
        verbose_name = _("user census")
        verbose_name_plural = _("user census")
        default_permissions = ()

    def __str__(self) -> str:
        return (f"{self.users} users, {self.active_users} active, "
                f"{self.active_portal_users} active portal users")

    FIELDS = ("users", "active_users", "active_portal_users")

    @classmethod
    def counted(cls) -> tuple[int, int, int]:
        """Users, active users and active portal users, counted (three queries over them)."""
        users = get_user_model()._default_manager.all()
        active = users.filter(is_active=True)
        return (users.count(), active.count(),
                PortalUser.objects.filter(user__in=active.values("pk")).count())

    @classmethod
    def kept(cls) -> tuple[int, int, int]:
        """Users, active users and active portal users as kept (one query); counted and
        stored the first time they are read."""
        row = cls.objects.filter(pk=cls.SINGLETON_PK).values_list(*cls.FIELDS).first()
        if row is None:
            row = cls.counted()
            cls.store(*row)
        return row[0], row[1], row[2]

    @classmethod
    def store(cls, users: int, active_users: int, active_portal_users: int) -> None:
        cls.objects.update_or_create(pk=cls.SINGLETON_PK, defaults={
            "users": users, "active_users": active_users,
            "active_portal_users": active_portal_users})


class UsageSnapshot(models.Model):
    """One product's usage on one day: the history behind the charts and the usage summary.

    Taken by the first licensing read of a new day (``usage.ensure_daily_snapshot``) or by
    ``manage.py licensing snapshot``; one row per product code per day, kept for
    ``USAGE_RETENTION_DAYS``. ``peak_sessions`` grows during the day as concurrent slots are
    taken (``actions.sessions``).
    """

    product_code = models.CharField(_("product code"), max_length=64)
    day = models.DateField(_("day"))
    seats = models.PositiveIntegerField(_("seats"), null=True, blank=True,
                                        help_text=_("Empty means unlimited."))
    used = models.PositiveIntegerField(_("seats used"), default=0)
    holders = models.PositiveIntegerField(_("holders"), default=0)
    active_holders_30d = models.PositiveIntegerField(
        _("holders active in the last 30 days"), default=0)
    peak_sessions = models.PositiveIntegerField(_("peak concurrent sessions"), default=0)
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    class Meta:
        verbose_name = _("usage snapshot")
        verbose_name_plural = _("usage snapshots")
        ordering = ["product_code", "day"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["product_code", "day"],
                                    name="wagtail_licensing_unique_usage_day"),
        ]
        indexes = [models.Index(fields=["day"], name="wagtail_lic_usage_day_idx")]

    def __str__(self) -> str:
        return f"{self.product_code} {self.day}: {self.used}/{self.seats}"


class PortalUser(models.Model):
    """Marks a user account as an external portal user: never an admin user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                                on_delete=models.CASCADE, related_name="licensing_portal_user")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("portal user")
        verbose_name_plural = _("portal users")
        default_permissions = ()

    def __str__(self) -> str:
        return str(self.user)


def is_portal_user_expression(outer: str = "pk") -> Exists:
    """A boolean expression for user querysets: is the user a portal user?"""
    return Exists(PortalUser.objects.filter(user_id=OuterRef(outer)))


def portal_user_sort_key() -> ExpressionWrapper:
    """``is_portal_user_expression()`` for sorting user querysets by it: the same boolean,
    read through a join on the portal users (a hash join on PostgreSQL) instead of a probe
    per user, which a sort of every user evaluates for each of them."""
    return ExpressionWrapper(Q(licensing_portal_user__isnull=False),
                             output_field=models.BooleanField())


def idle_cutoff(now: datetime | None = None) -> datetime:
    """Sessions with no request since this moment are idle: their slots are free.

    The one definition of the idle window (``CONCURRENT_IDLE_MINUTES``).
    """
    now = now or timezone.now()
    return now - timedelta(minutes=licensing_settings.CONCURRENT_IDLE_MINUTES)


class ConcurrentSessionQuerySet(models.QuerySet["ConcurrentSession"]):
    def live(self, now: datetime | None = None) -> ConcurrentSessionQuerySet:
        """Sessions holding a slot now (a request within the idle window)."""
        return self.filter(last_seen__gte=idle_cutoff(now))

    def idle(self, now: datetime | None = None) -> ConcurrentSessionQuerySet:
        """Sessions whose slot the idle window has freed."""
        return self.filter(last_seen__lt=idle_cutoff(now))


class ConcurrentSession(models.Model):
    """A concurrent-license slot held by a signed-in user (shared by their sessions, which
    keep its ``session_key`` token)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    product_code = models.CharField(max_length=64)
    session_key = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ConcurrentSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("concurrent session")
        verbose_name_plural = _("concurrent sessions")
        default_permissions = ()
        constraints = [
            # A user holds at most one slot per product, however many sessions or racing
            # requests they have: their sessions share it (``TakeSlotAction``).
            models.UniqueConstraint(fields=["user", "product_code"],
                                    name="wagtail_licensing_one_slot_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.product_code}: {self.user_id}"


class ReleasedSlotQuerySet(models.QuerySet["ReleasedSlot"]):
    def current(self) -> ReleasedSlotQuerySet:
        """Marks younger than a session (``SESSION_COOKIE_AGE``): older ones sign nobody out."""
        return self.filter(released_at__gte=self._cutoff())

    def expired(self) -> ReleasedSlotQuerySet:
        return self.filter(released_at__lt=self._cutoff())

    @staticmethod
    def _cutoff() -> datetime:
        return timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)


class ReleasedSlot(models.Model):
    """A concurrent slot a license manager released, by its token: the sessions that kept it
    are signed out, and told why, on their next request to any process (not given another
    slot). Written with the release (``ReleaseSlotsAction``), in the database, so that a
    process whose cache the releasing one does not share (``LocMemCache``, ``DummyCache``)
    sees it too; kept a session's lifetime."""

    session_key = models.CharField(max_length=64, unique=True)
    released_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ReleasedSlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("released concurrent slot")
        verbose_name_plural = _("released concurrent slots")
        default_permissions = ()

    def __str__(self) -> str:
        return self.session_key



class PendingUploadQuerySet(models.QuerySet["PendingUpload"]):
    def expired(self) -> PendingUploadQuerySet:
        return self.filter(created_at__lt=timezone.now() - PendingUpload.LIFETIME)


class PendingUpload(models.Model):
    """An uploaded file waiting, server-side, for the manager to confirm its preview.

    Confirmation forms carry only the token; the content is never round-tripped through the
    browser. A license file waits as uploaded; an assignments file as parsed at upload
    (``formats.AssignmentFile.dumps``), so that it is read only once.
    Only the user who uploaded a file can confirm it, within ``LIFETIME``.
    """

    LIFETIME = timedelta(hours=6)

    class Kind(models.TextChoices):
        LICENSE_FILE = "license_file", _("License file")
        ASSIGNMENTS = "assignments", _("License assignments")

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PendingUploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("pending upload")
        verbose_name_plural = _("pending uploads")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.kind}: {self.filename}"

    @classmethod
    def store(cls, *, kind: PendingUpload.Kind, user: Any, filename: str | None,
              content: bytes) -> PendingUpload:
        cls.objects.expired().delete()
        return cls.objects.create(kind=kind, uploaded_by=user, filename=filename or "",
                                  content=bytes(content))

    @classmethod
    def fetch(cls, *, kind: PendingUpload.Kind, user: Any, token: Any) -> PendingUpload | None:
        """The user's own pending upload of that kind, or None (unknown, foreign or expired)."""
        try:
            return cls.objects.exclude(pk__in=cls.objects.expired().values("pk")).get(
                kind=kind, uploaded_by=user, token=token)
        except (cls.DoesNotExist, ValueError, TypeError, ValidationError):
            return None

    @classmethod
    def waits_for_another(cls, *, kind: PendingUpload.Kind, user: Any, token: Any) -> bool:
        """Whether the token names an upload still waiting for another user to confirm it."""
        try:
            return (cls.objects.exclude(pk__in=cls.objects.expired().values("pk"))
                    .filter(kind=kind, token=token).exclude(uploaded_by=user).exists())
        except (ValueError, TypeError, ValidationError):
            return False


class LicenseNotice(models.Model):
    """An e-mail notice sent to the license managers (``manage.py licensing notify``), kept so
    that each notice is sent once however often the command runs."""

    class Kind(models.TextChoices):
        EXPIRY = "expiry", _("Expiry")
        SEATS = "seats", _("Seats")
        RECLAIM = "reclaim", _("Reclaim of an idle seat")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    product_code = models.CharField(_("product code"), max_length=64)
    # What the notice was about: "2027-12-31:7" (expires on that day, 7 days before) for expiry
    # notices, "threshold" for seat notices (re-armed when usage falls below the threshold).
    key = models.CharField(_("key"), max_length=64)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.TextField(_("recipients"), blank=True)

    class Meta:
        verbose_name = _("license notice")
        verbose_name_plural = _("license notices")
        ordering = ["-sent_at", "-id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["kind", "product_code", "key"],
                                    name="wagtail_licensing_unique_notice"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_code} {self.key}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        """Tokens that still authenticate: not revoked."""
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A per-user token for the licensing REST API (``api/authentication.py``).

    Only the SHA-256 digest of the token is stored: the token itself is shown once, when it is
    created, and can never be read back. A token acts as its user, whose permission is asked on
    every request (a user who loses CanManageLicUsers loses the API too); a read-only token
    may only read, whatever its user may do.
    """

    PREFIX = "wlt_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE, related_name="licensing_api_tokens")
    name = models.CharField(_("name"), max_length=100,
                            help_text=_("What the token is for, e.g. “Monitoring”."))
    digest = models.CharField(_("SHA-256 digest"), max_length=64, unique=True, editable=False)
    hint = models.CharField(_("first characters"), max_length=12, editable=False,
                            help_text=_("The token's first characters, to recognise it."))
    read_only = models.BooleanField(
        _("read-only"), default=True,
        help_text=_("A read-only token can read licenses, products and assignments, but not "
                    "grant or recall."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Recorded at most once per ``LAST_USED_PRECISION`` per token, by the request that finds
    # it older (``actions.api_tokens.TouchApiTokenAction``): no write on every request.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    LAST_USED_PRECISION = timedelta(minutes=1)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def last_used_is_stale(self, now: datetime) -> bool:
        """Whether a request at ``now`` should record itself as the token's last use."""
        return self.last_used_at is None or now - self.last_used_at >= self.LAST_USED_PRECISION

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)
