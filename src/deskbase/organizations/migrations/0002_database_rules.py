from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, touch_updated_at

FUNCTIONS = """
CREATE FUNCTION deskbase_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(now(), NEW.created_at);
    RETURN NEW;
END $$;

-- Sign-in needs the tenant before it is set: this narrow lookup turns a slug
-- into an organization id and nothing else (docs/tenancy.md).
CREATE FUNCTION deskbase_organization_id(p_slug text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT id FROM public.organizations_organization
    WHERE slug = p_slug AND deleted_at IS NULL
$$;

CREATE FUNCTION organizations_check_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM now() AT TIME ZONE NEW.timezone;
    RETURN NEW;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE EXCEPTION 'unknown time zone %', NEW.timezone
        USING ERRCODE = 'check_violation', CONSTRAINT = 'organizations_organization_timezone_valid';
END $$;

CREATE TRIGGER organizations_organization_timezone_valid
BEFORE INSERT OR UPDATE OF timezone ON organizations_organization
FOR EACH ROW EXECUTE FUNCTION organizations_check_timezone();

ALTER TABLE organizations_organization ADD CONSTRAINT organizations_organization_settings_object
    CHECK (jsonb_typeof(settings) = 'object');
ALTER TABLE organizations_organization ADD CONSTRAINT organizations_organization_business_hours_object
    CHECK (jsonb_typeof(business_hours) = 'object');
"""

REVERSE = """
DROP TRIGGER IF EXISTS organizations_organization_timezone_valid ON organizations_organization;
DROP FUNCTION IF EXISTS organizations_check_timezone();
DROP FUNCTION IF EXISTS deskbase_organization_id(text);
ALTER TABLE organizations_organization DROP CONSTRAINT IF EXISTS organizations_organization_settings_object;
ALTER TABLE organizations_organization DROP CONSTRAINT IF EXISTS organizations_organization_business_hours_object;
DROP FUNCTION IF EXISTS deskbase_touch_updated_at() CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial")]

    operations = [
        migrations.RunSQL(FUNCTIONS, REVERSE),
        touch_updated_at("organizations_organization"),
        enable_rls("organizations_organization", column="id"),
        enable_rls("organizations_holiday"),
    ]
