-- +goose Up
-- Payments through Stripe Connect, and e-mail as vendor work.
--
-- stripe_accounts maps each connected (Express) account to its vendor: the
-- platform webhook routes an event by the account it came from, never by
-- what the event's metadata claims. stripe_events records every event id
-- seen, so a replayed event has one effect.

CREATE TABLE stripe_accounts (
    account_id text PRIMARY KEY CHECK (account_id ~ '^acct_[A-Za-z0-9]{1,64}$'),
    vendor_id  bigint NOT NULL UNIQUE REFERENCES vendors (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stripe_events (
    id           text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    type         text NOT NULL,
    account_id   text NOT NULL DEFAULT '',
    vendor_id    bigint REFERENCES vendors (id) ON DELETE SET NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    -- what the event did: 'applied', 'ignored: ...'
    outcome      text NOT NULL DEFAULT ''
);
CREATE INDEX stripe_events_received_idx ON stripe_events (received_at DESC);

-- The tenant app records the account a vendor connected. A vendor has one
-- account; an account belongs to one vendor, and connecting it again is
-- a no-op.
-- +goose StatementBegin
CREATE FUNCTION register_stripe_account(p_vendor bigint, p_account text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    existing text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor AND state = 'active') THEN
        RAISE EXCEPTION 'vendor % is not active', p_vendor USING ERRCODE = '22023';
    END IF;
    SELECT account_id INTO existing FROM stripe_accounts WHERE vendor_id = p_vendor;
    IF existing = p_account THEN
        RETURN;
    ELSIF existing IS NOT NULL THEN
        RAISE EXCEPTION 'vendor % is connected to another Stripe account', p_vendor USING ERRCODE = '23505';
    END IF;
    INSERT INTO stripe_accounts (account_id, vendor_id) VALUES (p_account, p_vendor);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION register_stripe_account(bigint, text) FROM PUBLIC;

-- The platform's commission on every order, in basis points, as the
-- tenant app needs it at checkout (the platform setting
-- payments.commission_bp, or its default).
-- +goose StatementBegin
CREATE FUNCTION platform_commission_bp() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT (value #>> '{}')::integer FROM platform_settings WHERE key = 'payments.commission_bp'), 500)
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION platform_commission_bp() FROM PUBLIC;

-- E-mail is vendor work too: the tenant app writes the message to the
-- vendor's outbox and asks for it to be sent.
ALTER TABLE vendor_work DROP CONSTRAINT vendor_work_kind_check,
    ADD CONSTRAINT vendor_work_kind_check CHECK (kind IN ('imports', 'publishes', 'images', 'mail'));

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_vendor_work(p_vendor bigint, p_kind text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_kind NOT IN ('imports', 'publishes', 'images', 'mail') THEN
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

-- Router roles that exist already may call the new functions too.
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
        EXECUTE 'GRANT EXECUTE ON FUNCTION register_stripe_account(bigint, text) TO ' || g;
        EXECUTE 'GRANT EXECUTE ON FUNCTION platform_commission_bp() TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DELETE FROM vendor_work WHERE kind = 'mail';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_vendor_work(p_vendor bigint, p_kind text) RETURNS void
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
ALTER TABLE vendor_work DROP CONSTRAINT vendor_work_kind_check,
    ADD CONSTRAINT vendor_work_kind_check CHECK (kind IN ('imports', 'publishes', 'images'));
DROP FUNCTION platform_commission_bp();
DROP FUNCTION register_stripe_account(bigint, text);
DROP TABLE stripe_events, stripe_accounts;
