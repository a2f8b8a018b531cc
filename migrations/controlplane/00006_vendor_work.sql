-- +goose Up
-- Work the tenant app asks the control plane's job system to do for a
-- vendor (run its queued imports, publishes, image fetches). The work
-- itself is described in the vendor's own database; a request carries only
-- the vendor and the kind, so a forged request makes the job system look
-- at a vendor's queue and find nothing. A request stays until a job finds
-- the vendor's queue of that kind empty: a control plane that restarts
-- takes up every open request again.
CREATE TABLE vendor_work (
    vendor_id    bigint NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('imports', 'publishes', 'images')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    -- when a job was last queued for it
    enqueued_at  timestamptz,
    PRIMARY KEY (vendor_id, kind)
);

-- The tenant app's router role may call this and nothing else here
-- besides reading the routing view (it is granted EXECUTE by the
-- provisioner). It refuses kinds it does not know and vendors that are
-- not active.
-- +goose StatementBegin
CREATE FUNCTION request_vendor_work(p_vendor bigint, p_kind text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_kind NOT IN ('imports', 'publishes', 'images') THEN
        RAISE EXCEPTION 'unknown kind of vendor work: %', p_kind USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor AND state = 'active') THEN
        RAISE EXCEPTION 'vendor % is not active', p_vendor USING ERRCODE = '22023';
    END IF;
    INSERT INTO vendor_work (vendor_id, kind) VALUES (p_vendor, p_kind)
    ON CONFLICT (vendor_id, kind) DO UPDATE SET requested_at = now();
    PERFORM pg_notify('storefleet_vendor_work', p_vendor || ':' || p_kind);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION request_vendor_work(bigint, text) FROM PUBLIC;

-- Router roles that exist already (they can read the routing view) may
-- call it too.
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
        EXECUTE 'GRANT EXECUTE ON FUNCTION request_vendor_work(bigint, text) TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION request_vendor_work(bigint, text);
DROP TABLE vendor_work;
