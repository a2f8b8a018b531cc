-- +goose Up
-- Feature flags: a global value per flag and per-vendor overrides. The
-- tenant app reads a vendor's effective flags through vendor_feature_flags()
-- (its router role may call that function, never read the tables) and keeps
-- them in a cache that the 'storefleet_flags' channel invalidates: the
-- payload is a vendor id for an override, '*' for a global change.
--
-- Platform settings keep living in platform_settings; secret settings are
-- stored there sealed under the master key, as {"sealed": "<base64>"}.

CREATE TABLE feature_flags (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' AND length(name) <= 100),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    enabled     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT ''
);

CREATE TABLE feature_flag_overrides (
    flag       text NOT NULL REFERENCES feature_flags (name) ON DELETE CASCADE,
    vendor_id  bigint NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT '',
    PRIMARY KEY (flag, vendor_id)
);
CREATE INDEX feature_flag_overrides_vendor_idx ON feature_flag_overrides (vendor_id);

-- The first flag: search-box suggestions on every storefront, on.
INSERT INTO feature_flags (name, description, enabled, updated_by)
VALUES ('storefront.search_suggestions', 'Titles suggested as shoppers type in the search box (GET /search/suggest).', true, 'migration');

-- +goose StatementBegin
CREATE FUNCTION notify_flags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'feature_flag_overrides' THEN
        PERFORM pg_notify('storefleet_flags', COALESCE(NEW.vendor_id, OLD.vendor_id)::text);
        IF TG_OP = 'UPDATE' AND NEW.vendor_id <> OLD.vendor_id THEN
            PERFORM pg_notify('storefleet_flags', OLD.vendor_id::text);
        END IF;
    ELSE
        PERFORM pg_notify('storefleet_flags', '*');
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER feature_flags_notify AFTER INSERT OR UPDATE OR DELETE ON feature_flags
    FOR EACH ROW EXECUTE FUNCTION notify_flags();
CREATE TRIGGER feature_flag_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON feature_flag_overrides
    FOR EACH ROW EXECUTE FUNCTION notify_flags();

-- A vendor's effective flags: its override where it has one, else the
-- global value. Flags that do not exist are not listed (the tenant app
-- treats them as off).
-- +goose StatementBegin
CREATE FUNCTION vendor_feature_flags(p_vendor bigint) RETURNS TABLE (name text, enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT f.name, COALESCE(o.enabled, f.enabled)
    FROM feature_flags f
    LEFT JOIN feature_flag_overrides o ON o.flag = f.name AND o.vendor_id = p_vendor
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vendor_feature_flags(bigint) FROM PUBLIC;

-- Router roles that exist already may read flags too.
-- +goose StatementBegin
DO $$
DECLARE
    g text;
BEGIN
    FOR g IN
        SELECT DISTINCT a.grantee::regrole::text
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'routing_entries'::regclass AND a.privilege_type = 'SELECT'
          AND a.grantee <> c.relowner AND a.grantee <> 0
    LOOP
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_feature_flags(bigint) TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION vendor_feature_flags(bigint);
DROP TABLE feature_flag_overrides, feature_flags;
DROP FUNCTION notify_flags();
