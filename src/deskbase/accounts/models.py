"""People: staff and customers of a tenant, and teams of agents."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from deskbase.core.errors import PermissionDenied
from deskbase.core.i18n import Language
from deskbase.core.models import (
    LiveManager,
    SoftDeleteModel,
    TenantModel,
    TimestampedModel,
    choice_constraint,
)
from deskbase.organizations.models import validate_timezone


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")


STAFF_ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT)


class CustomerTier(models.TextChoices):
    BASIC = "basic", _("Basic")
    PREMIUM = "premium", _("Premium")
    ENTERPRISE = "enterprise", _("Enterprise")


class Availability(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


def validate_skills(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise ValidationError(gettext("Skills are a list of non-empty names."))
    # Bounded like every stored JSON value (deskbase.core.jsonbounds.SKILLS).
    if len(value) > 100 or any(len(s) > 100 for s in value):
        raise ValidationError(gettext("At most 100 skills of at most 100 characters each."))


class UserManager(LiveManager, BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("a user needs an email address")
        user = self.model(email=self.normalize_email(email).strip().lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """A platform operator: no organization, signs in to nothing but the command line."""
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        # Under row-level security only the current tenant's users are visible,
        # so an email is unique here (see accounts.backends).
        return self.get(email=(username or "").strip().lower())


class User(AbstractBaseUser, PermissionsMixin, SoftDeleteModel):
    """A person who signs in with an email address: staff of a tenant, or its customer."""

    id = models.BigAutoField(primary_key=True)
    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
        db_index=False,
        help_text="Empty only for platform operators.",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    customer_tier = models.CharField(
        max_length=16, choices=CustomerTier.choices, default=CustomerTier.BASIC
    )
    availability = models.CharField(
        max_length=16, choices=Availability.choices, null=True, blank=True
    )
    skills = models.JSONField(default=list, blank=True, validators=[validate_skills])
    max_concurrent_tickets = models.PositiveSmallIntegerField(default=20)
    last_active_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(db_default=Now(), editable=False)
    # Blank: the organization's (docs/i18n.md). The zone is checked by a trigger too.
    language = models.CharField(
        max_length=8, choices=Language.choices, blank=True, default="", db_default=""
    )
    timezone = models.CharField(
        max_length=64, blank=True, default="", db_default="", validators=[validate_timezone]
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "accounts_user"
        indexes = [models.Index(fields=["organization", "role"], name="accounts_user_org_role")]
        constraints = [
            # Unique per tenant, so an error never reveals another tenant's user.
            models.UniqueConstraint(
                fields=["organization", "email"],
                name="accounts_user_email_unique_per_org",
                violation_error_code="email",
                violation_error_message=_("A user with this email address already exists."),
            ),
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(organization__isnull=True),
                name="accounts_user_operator_email_unique",
                violation_error_code="email",
                violation_error_message=_("An operator with this email address already exists."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="accounts_user_org_id_unique"
            ),
            # Emails are stored lower-case, so uniqueness is case-insensitive.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="accounts_user_email_lowercase",
                violation_error_code="email",
                violation_error_message=_("Email addresses are stored in lower case."),
            ),
            models.CheckConstraint(
                condition=models.Q(email__regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                name="accounts_user_email_format",
                violation_error_code="email",
                violation_error_message=_("Enter a valid email address."),
            ),
            choice_constraint(
                "role",
                Role,
                name="accounts_user_role_valid",
                message=_("Unknown role."),
            ),
            choice_constraint(
                "customer_tier",
                CustomerTier,
                name="accounts_user_customer_tier_valid",
                message=_("Unknown customer tier."),
            ),
            models.CheckConstraint(
                condition=models.Q(availability__isnull=True)
                | models.Q(availability__in=Availability.values, role__in=STAFF_ROLES),
                name="accounts_user_availability_staff_only",
                violation_error_code="availability",
                violation_error_message=_("Only agents have an availability."),
            ),
            models.CheckConstraint(
                condition=models.Q(max_concurrent_tickets__gte=1, max_concurrent_tickets__lte=100),
                name="accounts_user_max_concurrent_range",
                violation_error_code="max_concurrent_tickets",
                violation_error_message=_("Concurrent tickets must be between 1 and 100."),
            ),
            models.CheckConstraint(
                condition=models.Q(language="") | models.Q(language__in=Language.values),
                name="accounts_user_language_valid",
                violation_error_code="language",
                violation_error_message=_("Unknown language."),
            ),
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(is_superuser=True),
                name="accounts_user_org_required",
                violation_error_code="organization",
                violation_error_message=(
                    "Every user but a platform operator belongs to an organization."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff_member(self) -> bool:
        """Works tickets (admin, manager or agent), as opposed to a customer."""
        return self.role in STAFF_ROLES

    @property
    def tenant_id(self) -> int:
        """The id of the organization this staff member or customer belongs to.

        Every caller of the web pages and the API has one (sign-in resolves the tenant
        first); only a platform operator has none, and is refused rather than given a
        query on `organization_id IS NULL`."""
        if self.organization_id is None:
            raise PermissionDenied(gettext("A platform operator belongs to no organization."))
        return self.organization_id

    def clean(self) -> None:
        super().clean()
        self.email = (self.email or "").strip().lower()

    def validate_constraints(self, exclude: Any = None) -> None:
        # Field-named errors for the rules the constraints above enforce.
        errors: dict[str, list[str]] = {}
        if self.availability and self.role not in STAFF_ROLES:
            errors.setdefault("availability", []).append(
                gettext("Only agents have an availability.")
            )
        if errors:
            raise ValidationError(errors)
        super().validate_constraints(exclude=exclude)


class Team(TenantModel, TimestampedModel):
    """A group of agents that tickets can be routed to."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")

    class Meta:
        db_table = "accounts_team"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="accounts_team_name_unique_per_org",
                violation_error_code="name",
                violation_error_message=_("A team with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="accounts_team_org_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(TenantModel):
    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts_teammembership"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "team", "user"],
                name="accounts_teammembership_unique",
                violation_error_code="user",
                violation_error_message=_("This agent is already in the team."),
            ),
        ]


class ApiToken(TenantModel):
    """A personal API token. Only its sha256 is stored; the token is shown once.

    Tokens read `dsk_<organization id>_<secret>`: the organization id lets the
    server set the tenant before it looks the token up under row-level security.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, help_text="The token's first characters, to recognize it."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_apitoken"
        indexes = [models.Index("organization", "user", name="accounts_apitoken_by_user")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106
                name="accounts_apitoken_hash_format",
                violation_error_code="token_hash",
                violation_error_message=_("Not a sha256 digest."),
            ),
        ]


class SignInThrottle(models.Model):
    """Failed sign-ins per key (hashed account or address) in the current window.

    Shared by every server process; holds no tenant data, only digests.
    """

    key = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "accounts_signinthrottle"


class AuditAction(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    SIGNED_OUT = "signed_out", _("Signed out")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    ROLE_CHANGED = "role_changed", _("Role changed")
    USER_REMOVED = "user_removed", _("User removed")
    TWO_FACTOR_ENABLED = "two_factor_enabled", _("Two-factor sign-in turned on")
    TWO_FACTOR_DISABLED = "two_factor_disabled", _("Two-factor sign-in turned off")
    TWO_FACTOR_RESET = "two_factor_reset", _("Two-factor sign-in reset by an admin")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Two-factor code refused")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed", _("Recovery codes renewed")
    SSO_SIGNED_IN = "sso_signed_in", _("Signed in by single sign-on")
    SSO_REFUSED = "sso_refused", _("Single sign-on refused")
    SSO_USER_CREATED = "sso_user_created", _("User created by single sign-on")
    SSO_CHANGED = "sso_changed", _("Single sign-on settings changed")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    SESSION_ENDED = "session_ended", _("Session ended")
    SESSIONS_ENDED = "sessions_ended", _("All sessions ended")
    PASSKEY_ADDED = "passkey_added", _("Passkey added")
    PASSKEY_REMOVED = "passkey_removed", _("Passkey removed")
    SETTINGS_CHANGED = "settings_changed", _("Organization settings changed")
    DATA_EXPORT_REQUESTED = "data_export_requested", _("Personal data export requested")
    DATA_EXPORT_DOWNLOADED = "data_export_downloaded", _("Personal data export downloaded")
    CUSTOMER_ERASED = "customer_erased", _("Customer erased")
    RETENTION_PURGED = "retention_purged", _("Closed tickets purged by retention")
    RETENTION_CHANGED = "retention_changed", _("Retention policy changed")
    WEBHOOK_CREATED = "webhook_created", _("Webhook endpoint added")
    WEBHOOK_CHANGED = "webhook_changed", _("Webhook endpoint changed")
    WEBHOOK_DELETED = "webhook_deleted", _("Webhook endpoint removed")
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", _("Webhook signing secret rotated")
    WEBHOOK_DISABLED = "webhook_disabled", _("Webhook endpoint disabled by its failures")
    TICKETS_EXPORTED = "tickets_exported", _("Tickets exported as CSV")
    REPORT_EXPORTED = "report_exported", _("Report table exported as CSV")
    CUSTOM_FIELD_CREATED = "custom_field_created", _("Custom field defined")
    CUSTOM_FIELD_CHANGED = "custom_field_changed", _("Custom field changed")
    CUSTOM_FIELD_ARCHIVED = "custom_field_archived", _("Custom field archived")


class AuditLog(models.Model):
    """One security-relevant act. Append-only (a trigger refuses UPDATE and DELETE);
    partitioned by month on created_at; retention drops whole partitions.

    The table's primary key is (id, created_at), as PostgreSQL wants the partition
    column in it; `id` alone is unique (one identity sequence) and is Django's key.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    # No foreign keys to people: the log outlives the users it names.
    actor = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    subject = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts_auditlog"
        managed = False  # a partitioned table: accounts/migrations/0006 writes its DDL


class UserSession(models.Model):
    """A browser session: from sign-in to sign-out. Partitioned by month on started_at."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    user = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    started_at = models.DateTimeField(db_default=Now(), editable=False)
    last_seen_at = models.DateTimeField(db_default=Now())
    ended_at = models.DateTimeField(null=True)
    # The browser session's key, so that ending this row ends the browser's session.
    session_key = models.CharField(max_length=40, null=True)

    class Meta:
        db_table = "accounts_usersession"
        managed = False  # a partitioned table: accounts/migrations/0006 writes its DDL


class TotpDevice(TenantModel):
    """A person's authenticator app: the shared TOTP secret, encrypted at rest.

    Unconfirmed until the person has typed one code from it; only a confirmed device
    is asked for at sign-in. `last_step` is the time step of the last accepted code,
    so a code (or an older one) is accepted once only.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    secret = models.TextField(help_text="The base32 secret, encrypted (deskbase.mail.crypto).")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts_totpdevice"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="accounts_totpdevice_one_per_user",
                violation_error_code="user",
                violation_error_message=_("This person already has an authenticator."),
            ),
        ]


class Passkey(TenantModel):
    """A WebAuthn credential (a passkey or security key) used as a second factor.

    Only its public key is stored; `sign_count` is the authenticator's counter, which
    must grow with each use when the authenticator keeps one (a clone is refused).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=100)
    credential_id = models.BinaryField(max_length=1023)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_passkey"
        indexes = [models.Index("organization", "user", name="accounts_passkey_by_user")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "credential_id"],
                name="accounts_passkey_credential_unique",
                violation_error_code="credential",
                violation_error_message=_("This passkey is registered already."),
            ),
            models.CheckConstraint(
                condition=models.Q(sign_count__gte=0),
                name="accounts_passkey_sign_count_positive",
                violation_error_code="sign_count",
                violation_error_message=_("A signature counter is not negative."),
            ),
        ]


class RecoveryCode(TenantModel):
    """A single-use code for a lost authenticator. Only its sha256 is stored."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts_recoverycode"
        indexes = [models.Index("organization", "user", name="accounts_recoverycode_by_user")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code_hash__regex=r"^[0-9a-f]{64}$"),
                name="accounts_recoverycode_hash_format",
                violation_error_code="code_hash",
                violation_error_message=_("Not a sha256 digest."),
            ),
            models.UniqueConstraint(
                fields=["organization", "user", "code_hash"],
                name="accounts_recoverycode_unique",
            ),
        ]


def validate_domains(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise ValidationError(gettext("Allowed domains are a list of domain names."))
    if len(value) > 50 or any(len(d) > 253 or not _DOMAIN.match(d) for d in value):
        raise ValidationError(
            gettext("At most 50 domain names, such as example.com, in lower case.")
        )


def validate_role_map(value: Any) -> None:
    if not isinstance(value, dict) or len(value) > 50:
        raise ValidationError(gettext("The role mapping maps at most 50 claim values to roles."))
    for claim, role in value.items():
        if not claim or len(claim) > 200 or role not in Role.values:
            raise ValidationError(
                gettext("%(claim)r must map to one of %(choices)s.")
                % {"claim": str(claim)[:50], "choices": ", ".join(Role)}
            )


_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


class OidcProvider(TenantModel):
    """The organization's OpenID Connect identity provider (one per organization).

    People sign in there; a verified e-mail address in an allowed domain signs in
    the person of that address in this organization, created on first sign-in with
    the role the claim mapping gives.
    """

    id = models.BigAutoField(primary_key=True)
    issuer = models.URLField(max_length=500)
    client_id = models.CharField(max_length=200)
    client_secret = models.TextField(help_text="Encrypted (deskbase.mail.crypto).")
    allowed_domains = models.JSONField(default=list, validators=[validate_domains])
    role_claim = models.CharField(max_length=100, default="roles")
    role_map = models.JSONField(default=dict, blank=True, validators=[validate_role_map])
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts_oidcprovider"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                name="accounts_oidcprovider_one_per_org",
                violation_error_code="organization",
                violation_error_message=_("This organization already has an identity provider."),
            ),
            models.CheckConstraint(
                condition=models.Q(issuer__startswith="https://")
                | models.Q(issuer__startswith="http://127.0.0.1")
                | models.Q(issuer__startswith="http://localhost"),
                name="accounts_oidcprovider_issuer_https",
                violation_error_code="issuer",
                violation_error_message=_("The issuer is an https:// address."),
            ),
            choice_constraint(
                "default_role",
                Role,
                name="accounts_oidcprovider_default_role_valid",
                message=_("Unknown role."),
            ),
        ]
