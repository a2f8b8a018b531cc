-- +goose Up
-- The console's dashboard and vendor pages: every vendor's plan; per-vendor
-- daily figures rolled up by a periodic job (so no page view ever queries
-- the vendor databases); and single-use tickets for a platform admin's
-- read-only "view as vendor" of a vendor's back office.

-- The plan a vendor is on. New plans are added to the CHECK by a migration.
ALTER TABLE vendors ADD COLUMN plan text NOT NULL DEFAULT 'starter'
    CHECK (plan IN ('starter', 'growth', 'scale'));

-- One row per vendor and UTC day, written by the stats roll-up job: a
-- re-run of a day replaces its figures. Orders are counted on the day they
-- were paid (orders.paid_at); customers_total and products_total are as of
-- the end of the day. Sizes are measured when the job runs and are kept on
-- the row of that day (NULL on days no run measured them).
CREATE TABLE vendor_stats_daily (
    vendor_id        bigint NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    day              date NOT NULL,
    orders_paid      integer NOT NULL DEFAULT 0 CHECK (orders_paid >= 0),
    -- orders paid that day that have been refunded in part or in full
    orders_refunded  integer NOT NULL DEFAULT 0 CHECK (orders_refunded >= 0),
    customers_new    integer NOT NULL DEFAULT 0 CHECK (customers_new >= 0),
    customers_total  integer NOT NULL DEFAULT 0 CHECK (customers_total >= 0),
    products_total   integer NOT NULL DEFAULT 0 CHECK (products_total >= 0),
    -- pg_database_size of the vendor's database, from the server's admin role
    db_size_bytes    bigint CHECK (db_size_bytes >= 0),
    -- the sum of the sizes of the objects in the vendor's bucket; when the
    -- listing stopped at its bound, bucket_complete is false and the sum is
    -- a lower bound
    bucket_bytes     bigint CHECK (bucket_bytes >= 0),
    bucket_objects   bigint CHECK (bucket_objects >= 0),
    bucket_complete  boolean,
    computed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor_id, day)
);
CREATE INDEX vendor_stats_daily_day_idx ON vendor_stats_daily (day);

-- Money per currency (minor units): sales are the totals of the orders
-- paid that day, refunded what has been refunded of those orders so far.
CREATE TABLE vendor_sales_daily (
    vendor_id      bigint NOT NULL,
    day            date NOT NULL,
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    orders_paid    integer NOT NULL CHECK (orders_paid >= 0),
    sales_minor    bigint NOT NULL CHECK (sales_minor >= 0),
    refunded_minor bigint NOT NULL CHECK (refunded_minor >= 0),
    PRIMARY KEY (vendor_id, day, currency),
    FOREIGN KEY (vendor_id, day) REFERENCES vendor_stats_daily (vendor_id, day) ON DELETE CASCADE
);
CREATE INDEX vendor_sales_daily_day_idx ON vendor_sales_daily (day);

-- Each run of the roll-up: when, which days, how many vendors, and the
-- vendors that failed (bounded list of {vendor_id, slug, error}).
CREATE TABLE stats_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    first_day   date NOT NULL,
    last_day    date NOT NULL,
    vendors     integer NOT NULL DEFAULT 0,
    failed      integer NOT NULL DEFAULT 0,
    errors      jsonb NOT NULL DEFAULT '[]',
    actor       text NOT NULL DEFAULT 'system'
);

-- "View as vendor": the console records a ticket (its id is also signed
-- with a key derived from the master key) and sends the admin to the
-- vendor's host, where the tenant app redeems it once.
CREATE TABLE view_as_tickets (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22,64}$'),
    vendor_id   bigint NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    admin_id    bigint REFERENCES admins (id) ON DELETE SET NULL,
    admin_email text NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_from   text NOT NULL DEFAULT '',
    CHECK (expires_at > issued_at AND expires_at <= issued_at + interval '5 minutes')
);
CREATE INDEX view_as_tickets_vendor_idx ON view_as_tickets (vendor_id, issued_at DESC);

-- The tenant app's router role redeems a ticket through this function and
-- nothing else: it marks the ticket used (once, before it expires, for the
-- vendor whose host it was shown on) and writes the audit row; it returns
-- the admin's e-mail, or NULL when the ticket is refused. A refused ticket
-- that exists is audited too.
-- +goose StatementBegin
CREATE FUNCTION redeem_view_as_ticket(p_id text, p_vendor bigint, p_client text, p_request text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t view_as_tickets%ROWTYPE;
    reason text;
BEGIN
    UPDATE view_as_tickets SET used_at = now(), used_from = left(COALESCE(p_client, ''), 100)
    WHERE id = p_id AND vendor_id = p_vendor AND used_at IS NULL AND expires_at > now()
    RETURNING * INTO t;
    IF FOUND THEN
        INSERT INTO audit_log (actor, admin_id, action, target_type, target_id, after, client_addr, request_id)
        VALUES ('admin:' || t.admin_email, t.admin_id, 'vendor.view_as_opened', 'vendor', t.vendor_id::text,
                jsonb_build_object('read_only', true, 'issued_at', t.issued_at),
                left(COALESCE(p_client, ''), 100), left(COALESCE(p_request, ''), 100));
        RETURN t.admin_email;
    END IF;
    SELECT * INTO t FROM view_as_tickets WHERE id = p_id;
    IF FOUND THEN
        reason := CASE
            WHEN t.vendor_id <> p_vendor THEN 'shown on another vendor''s host'
            WHEN t.used_at IS NOT NULL THEN 'already used'
            ELSE 'expired' END;
        INSERT INTO audit_log (actor, admin_id, action, target_type, target_id, after, client_addr, request_id)
        VALUES ('admin:' || t.admin_email, t.admin_id, 'vendor.view_as_refused', 'vendor', p_vendor::text,
                jsonb_build_object('reason', reason, 'ticket_vendor_id', t.vendor_id),
                left(COALESCE(p_client, ''), 100), left(COALESCE(p_request, ''), 100));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION redeem_view_as_ticket(text, bigint, text, text) FROM PUBLIC;

-- Router roles that exist already (they can read the routing view) may
-- call it too; new ones are granted it by the provisioner.
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
        EXECUTE 'GRANT EXECUTE ON FUNCTION redeem_view_as_ticket(text, bigint, text, text) TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION redeem_view_as_ticket(text, bigint, text, text);
DROP TABLE view_as_tickets, stats_runs, vendor_sales_daily, vendor_stats_daily;
ALTER TABLE vendors DROP COLUMN plan;
