from django.db import models
from django.db.models.functions import Now

from deskbase.core.models import TenantModel


class IdempotencyKey(TenantModel):
    """The first answer to a request sent with an Idempotency-Key, for its retries."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "api_idempotencykey"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "scope", "key"],
                name="api_idempotencykey_unique",
                violation_error_code="Idempotency-Key",
                violation_error_message="This Idempotency-Key was already used.",
            ),
        ]
