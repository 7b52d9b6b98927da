from django.db import models
from django.db.models.functions import Now


class Organization(models.Model):
    """The tenant: every tenant-owned row carries its organization_id."""

    id = models.BigAutoField(primary_key=True)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "organizations_organization"

    def __str__(self) -> str:
        return self.name
