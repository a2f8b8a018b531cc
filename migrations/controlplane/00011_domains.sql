-- +goose Up
-- Custom domains (docs/domains.md). Every vendor has its platform
-- subdomain (kind 'subdomain', verified when it is made). A custom domain
-- is added by an admin or by the vendor and routes only once it is
-- verified: the vendor publishes the TXT record
--   _storefleet-verify.<verify_name>  "storefleet-verify=<verify_token>"
-- and the control plane looks it up, on request and periodically until it
-- gives up. An apex and its www name are added as a pair sharing one
-- token and one TXT record (on the apex); the pair's other name redirects
-- (redirect_to) to the one the vendor chose.

ALTER TABLE domains
    ADD COLUMN verify_token       text NOT NULL DEFAULT '',
    -- the name under which the TXT record is looked up: the host without
    -- a leading "www."
    ADD COLUMN verify_name        text NOT NULL DEFAULT '',
    -- the pair's primary name, for the name that redirects to it
    ADD COLUMN redirect_to        bigint REFERENCES domains (id) ON DELETE SET NULL,
    -- periodic checks run from checks_since until verified or given up
    ADD COLUMN checks_since       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN check_requested_at timestamptz,
    ADD COLUMN last_checked_at    timestamptz,
    ADD COLUMN last_check_error   text NOT NULL DEFAULT '',
    ADD COLUMN gave_up_at         timestamptz,
    ADD COLUMN added_by           text NOT NULL DEFAULT '',
    -- an unverified custom domain can be verified: it has its token
    ADD CONSTRAINT domains_custom_token CHECK (kind = 'subdomain' OR verified_at IS NOT NULL
                                               OR (verify_token <> '' AND verify_name <> '')),
    ADD CONSTRAINT domains_redirect_not_self CHECK (redirect_to IS NULL OR redirect_to <> id);
CREATE INDEX domains_unverified_idx ON domains (last_checked_at) WHERE verified_at IS NULL AND gave_up_at IS NULL;

-- Only verified domains route; a name that redirects carries the host it
-- redirects to; the primary host (links in e-mails) is a verified name
-- that does not redirect. Columns are appended, as CREATE OR REPLACE VIEW
-- requires, and the router roles keep their grant.
CREATE OR REPLACE VIEW routing_entries AS
SELECT d.host,
       v.id            AS vendor_id,
       v.slug,
       v.name,
       v.state,
       vd.db_name,
       vd.role_name,
       vd.password_enc,
       vd.schema_version,
       s.host          AS db_host,
       s.port          AS db_port,
       b.name          AS bucket,
       v.read_only,
       (SELECT d2.host FROM domains d2
         WHERE d2.vendor_id = v.id AND d2.verified_at IS NOT NULL AND d2.redirect_to IS NULL
         ORDER BY d2.is_primary DESC, d2.id LIMIT 1) AS primary_host,
       (SELECT r.host FROM domains r
         WHERE r.id = d.redirect_to AND r.vendor_id = d.vendor_id AND r.verified_at IS NOT NULL) AS redirect_host
FROM domains d
JOIN vendors v ON v.id = d.vendor_id
LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
LEFT JOIN db_servers s ON s.id = vd.server_id
LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
WHERE v.state <> 'deleted' AND d.verified_at IS NOT NULL;

-- The platform's base domains: the parents of the vendors' subdomains
-- (<slug>.<base>). No custom domain may be one of them or under one.
-- +goose StatementBegin
CREATE FUNCTION platform_base_domains() RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT DISTINCT substr(d.host, length(v.slug) + 2)
    FROM domains d JOIN vendors v ON v.id = d.vendor_id
    WHERE d.kind = 'subdomain' AND d.host LIKE v.slug || '.%'
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION platform_base_domains() FROM PUBLIC;

-- domain_host_check refuses a host that is not a canonical DNS name a
-- vendor may claim: lower-case ASCII (international names in their xn--
-- form), at least two labels, a last label that starts with a letter (so
-- no IP address), no port, no trailing dot, and not the platform's base
-- domain or a name under it. SQLSTATE SFD01, with the reason.
-- +goose StatementBegin
CREATE FUNCTION domain_host_check(p_host text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
    base text;
BEGIN
    IF p_host IS NULL OR length(p_host) < 3 OR length(p_host) > 253 THEN
        RAISE EXCEPTION 'a domain name has 3 to 253 characters' USING ERRCODE = 'SFD01';
    END IF;
    IF p_host !~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$' THEN
        RAISE EXCEPTION 'not a valid domain name: %', p_host USING ERRCODE = 'SFD01';
    END IF;
    FOR base IN SELECT platform_base_domains() LOOP
        IF p_host = base OR p_host LIKE '%.' || base THEN
            RAISE EXCEPTION '% belongs to the platform: shops already have their own address under %', p_host, base
                USING ERRCODE = 'SFD01';
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_host_check(text) FROM PUBLIC;

-- domain_verify_name is the name whose TXT record verifies a host: the
-- host without a leading "www.".
-- +goose StatementBegin
CREATE FUNCTION domain_verify_name(p_host text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_host LIKE 'www.%.%' THEN substr(p_host, 5) ELSE p_host END
$$;
-- +goose StatementEnd

-- domain_add adds a custom domain to a vendor, and with it its apex or www
-- partner if p_partner names it (the partner redirects to p_host). A host
-- held by another vendor is refused (SFD02) without saying by whom; one
-- the vendor holds already, SFD03. An unverified claim another vendor has
-- given up on does not block anyone: it is released. At most 20 custom
-- domains per vendor (SFD06). Returns the host's row id.
-- +goose StatementBegin
CREATE FUNCTION domain_add(p_vendor bigint, p_host text, p_partner text, p_added_by text) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    tok text := replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    h text;
    owner bigint;
    main_id bigint;
    partner_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor AND state <> 'deleted') THEN
        RAISE EXCEPTION 'no such vendor' USING ERRCODE = 'SFD04';
    END IF;
    PERFORM domain_host_check(p_host);
    p_partner := coalesce(p_partner, '');
    IF p_partner <> '' THEN
        PERFORM domain_host_check(p_partner);
        IF NOT (p_partner = 'www.' || p_host OR p_host = 'www.' || p_partner) THEN
            RAISE EXCEPTION '% is not the www name of % or its apex', p_partner, p_host USING ERRCODE = 'SFD01';
        END IF;
    END IF;
    -- one vendor's adds at a time, so the limit holds
    PERFORM 1 FROM vendors WHERE id = p_vendor FOR UPDATE;
    IF (SELECT count(*) FROM domains WHERE vendor_id = p_vendor AND kind = 'custom')
        + (CASE WHEN p_partner = '' THEN 1 ELSE 2 END) > 20 THEN
        RAISE EXCEPTION 'a shop has at most 20 custom domains' USING ERRCODE = 'SFD06';
    END IF;
    FOREACH h IN ARRAY ARRAY[p_host, p_partner] LOOP
        CONTINUE WHEN h = '';
        DELETE FROM domains WHERE host = h AND vendor_id <> p_vendor AND kind = 'custom'
            AND verified_at IS NULL AND gave_up_at IS NOT NULL;
        SELECT vendor_id INTO owner FROM domains WHERE host = h;
        IF owner = p_vendor THEN
            RAISE EXCEPTION '% is already one of this shop''s domains', h USING ERRCODE = 'SFD03';
        ELSIF owner IS NOT NULL THEN
            RAISE EXCEPTION '% is already in use by another shop', h USING ERRCODE = 'SFD02';
        END IF;
    END LOOP;
    BEGIN
        INSERT INTO domains (vendor_id, host, kind, verify_token, verify_name, added_by)
        VALUES (p_vendor, p_host, 'custom', tok, domain_verify_name(p_host), left(coalesce(p_added_by, ''), 200))
        RETURNING id INTO main_id;
        IF p_partner <> '' THEN
            INSERT INTO domains (vendor_id, host, kind, verify_token, verify_name, added_by, redirect_to)
            VALUES (p_vendor, p_partner, 'custom', tok, domain_verify_name(p_host), left(coalesce(p_added_by, ''), 200), main_id)
            RETURNING id INTO partner_id;
        END IF;
    EXCEPTION WHEN unique_violation THEN -- another vendor's add won the race
        RAISE EXCEPTION '% is already in use by another shop', p_host USING ERRCODE = 'SFD02';
    END;
    PERFORM pg_notify('storefleet_domain_check', main_id::text);
    RETURN main_id;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_add(bigint, text, text, text) FROM PUBLIC;

-- domain_request_check asks for a vendor's domain to be checked now (the
-- job system picks it up within a minute), and starts the periodic checks
-- again if they had given up.
-- +goose StatementBegin
CREATE FUNCTION domain_request_check(p_vendor bigint, p_host text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    did bigint;
BEGIN
    UPDATE domains SET check_requested_at = now(),
        checks_since = CASE WHEN gave_up_at IS NOT NULL THEN now() ELSE checks_since END,
        gave_up_at = NULL
    WHERE vendor_id = p_vendor AND host = p_host AND kind = 'custom'
    RETURNING id INTO did;
    IF did IS NULL THEN
        RAISE EXCEPTION 'this shop has no domain %', p_host USING ERRCODE = 'SFD04';
    END IF;
    PERFORM pg_notify('storefleet_domain_check', did::text);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_request_check(bigint, text) FROM PUBLIC;

-- domain_remove removes a vendor's custom domain. The platform subdomain
-- stays (SFD05). If the removed name was the primary one, the subdomain
-- becomes primary again; a partner that redirected to it stops
-- redirecting (and serves itself, once verified).
-- +goose StatementBegin
CREATE FUNCTION domain_remove(p_vendor bigint, p_host text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    d domains%ROWTYPE;
BEGIN
    SELECT * INTO d FROM domains WHERE vendor_id = p_vendor AND host = p_host FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'this shop has no domain %', p_host USING ERRCODE = 'SFD04';
    END IF;
    IF d.kind = 'subdomain' THEN
        RAISE EXCEPTION 'the platform address % cannot be removed', p_host USING ERRCODE = 'SFD05';
    END IF;
    DELETE FROM domains WHERE id = d.id;
    IF d.is_primary THEN
        UPDATE domains SET is_primary = true WHERE vendor_id = p_vendor AND kind = 'subdomain';
    END IF;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_remove(bigint, text) FROM PUBLIC;

-- domain_make_primary makes a verified name the vendor's primary address
-- (links in e-mails use it); if it has an apex or www partner, the
-- partner redirects to it from now on.
-- +goose StatementBegin
CREATE FUNCTION domain_make_primary(p_vendor bigint, p_host text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    d domains%ROWTYPE;
BEGIN
    SELECT * INTO d FROM domains WHERE vendor_id = p_vendor AND host = p_host FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'this shop has no domain %', p_host USING ERRCODE = 'SFD04';
    END IF;
    IF d.verified_at IS NULL THEN
        RAISE EXCEPTION '% is not verified yet: it cannot be the primary address', p_host USING ERRCODE = 'SFD05';
    END IF;
    UPDATE domains SET redirect_to = NULL WHERE id = d.id AND redirect_to IS NOT NULL;
    UPDATE domains SET redirect_to = d.id
    WHERE vendor_id = p_vendor AND kind = 'custom' AND id <> d.id
      AND (host = 'www.' || p_host OR 'www.' || host = p_host);
    UPDATE domains SET is_primary = (id = d.id) WHERE vendor_id = p_vendor AND is_primary <> (id = d.id);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_make_primary(bigint, text) FROM PUBLIC;

-- domain_list is a vendor's domains, its subdomain first, with their
-- verification state and what to publish.
-- +goose StatementBegin
CREATE FUNCTION domain_list(p_vendor bigint) RETURNS TABLE (
    id bigint, host text, kind text, is_primary boolean, redirect_host text,
    verified_at timestamptz, verify_token text, verify_name text, checks_since timestamptz,
    check_requested_at timestamptz, last_checked_at timestamptz, last_check_error text,
    gave_up_at timestamptz, added_by text, created_at timestamptz)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT d.id, d.host, d.kind, d.is_primary, r.host, d.verified_at, d.verify_token, d.verify_name,
           d.checks_since, d.check_requested_at, d.last_checked_at, d.last_check_error, d.gave_up_at,
           d.added_by, d.created_at
    FROM domains d LEFT JOIN domains r ON r.id = d.redirect_to
    WHERE d.vendor_id = p_vendor
    ORDER BY d.kind = 'subdomain' DESC, d.verify_name, d.host LIKE 'www.%', d.id
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION domain_list(bigint) FROM PUBLIC;

-- The tenant app's router role calls these, for the vendor whose back
-- office made the request (p_vendor) and no other: every one of them
-- reads and changes that vendor's rows only, and only while it is
-- active. p_actor says who, for the control plane's audit log.
-- +goose StatementBegin
CREATE FUNCTION vendor_domain_active(p_vendor bigint) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
    s text;
BEGIN
    SELECT slug INTO s FROM vendors WHERE id = p_vendor AND state = 'active';
    IF s IS NULL THEN
        RAISE EXCEPTION 'vendor % is not active', p_vendor USING ERRCODE = '22023';
    END IF;
    RETURN s;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domain_audit(p_vendor bigint, p_actor text, p_action text, p_host text) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp AS $$
    INSERT INTO audit_log (actor, action, target_type, target_id, after)
    SELECT 'vendor:' || v.slug, p_action, 'vendor', v.id::text,
           jsonb_build_object('host', p_host, 'by', left(coalesce(p_actor, ''), 200))
    FROM vendors v WHERE v.id = p_vendor
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domain_add(p_vendor bigint, p_host text, p_partner text, p_actor text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    did bigint;
BEGIN
    PERFORM vendor_domain_active(p_vendor);
    did := domain_add(p_vendor, p_host, p_partner, 'vendor:' || left(coalesce(p_actor, ''), 190));
    PERFORM vendor_domain_audit(p_vendor, p_actor, 'domain.add',
        p_host || CASE WHEN coalesce(p_partner, '') <> '' THEN ' + ' || p_partner ELSE '' END);
    RETURN did;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domains(p_vendor bigint) RETURNS TABLE (
    id bigint, host text, kind text, is_primary boolean, redirect_host text,
    verified_at timestamptz, verify_token text, verify_name text, checks_since timestamptz,
    check_requested_at timestamptz, last_checked_at timestamptz, last_check_error text,
    gave_up_at timestamptz, added_by text, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM vendor_domain_active(p_vendor);
    RETURN QUERY SELECT * FROM domain_list(p_vendor);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domain_check(p_vendor bigint, p_host text, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM vendor_domain_active(p_vendor);
    PERFORM domain_request_check(p_vendor, p_host);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domain_remove(p_vendor bigint, p_host text, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM vendor_domain_active(p_vendor);
    PERFORM domain_remove(p_vendor, p_host);
    PERFORM vendor_domain_audit(p_vendor, p_actor, 'domain.remove', p_host);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vendor_domain_make_primary(p_vendor bigint, p_host text, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM vendor_domain_active(p_vendor);
    PERFORM domain_make_primary(p_vendor, p_host);
    PERFORM vendor_domain_audit(p_vendor, p_actor, 'domain.primary', p_host);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION vendor_domain_active(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domain_audit(bigint, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domain_add(bigint, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domains(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domain_check(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domain_remove(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendor_domain_make_primary(bigint, text, text) FROM PUBLIC;

-- Router roles that exist already may call the vendor functions too.
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
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_domain_add(bigint, text, text, text) TO ' || g;
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_domains(bigint) TO ' || g;
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_domain_check(bigint, text, text) TO ' || g;
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_domain_remove(bigint, text, text) TO ' || g;
        EXECUTE 'GRANT EXECUTE ON FUNCTION vendor_domain_make_primary(bigint, text, text) TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION vendor_domain_make_primary(bigint, text, text);
DROP FUNCTION vendor_domain_remove(bigint, text, text);
DROP FUNCTION vendor_domain_check(bigint, text, text);
DROP FUNCTION vendor_domains(bigint);
DROP FUNCTION vendor_domain_add(bigint, text, text, text);
DROP FUNCTION vendor_domain_audit(bigint, text, text, text);
DROP FUNCTION vendor_domain_active(bigint);
DROP FUNCTION domain_list(bigint);
DROP FUNCTION domain_make_primary(bigint, text);
DROP FUNCTION domain_remove(bigint, text);
DROP FUNCTION domain_request_check(bigint, text);
DROP FUNCTION domain_add(bigint, text, text, text);
DROP FUNCTION domain_verify_name(text);
DROP FUNCTION domain_host_check(text);
DROP FUNCTION platform_base_domains();
-- A view loses columns only by being made again; the router roles' grants
-- are kept (as in 00005).
-- +goose StatementBegin
DO $$
DECLARE
    grantees text[];
    g text;
BEGIN
    SELECT array_agg(DISTINCT a.grantee::regrole::text) INTO grantees
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = 'routing_entries'::regclass AND a.privilege_type = 'SELECT'
      AND a.grantee <> c.relowner AND a.grantee <> 0;
    DROP VIEW routing_entries;
    CREATE VIEW routing_entries AS
    SELECT d.host,
           v.id            AS vendor_id,
           v.slug,
           v.name,
           v.state,
           vd.db_name,
           vd.role_name,
           vd.password_enc,
           vd.schema_version,
           s.host          AS db_host,
           s.port          AS db_port,
           b.name          AS bucket,
           v.read_only,
           (SELECT d2.host FROM domains d2 WHERE d2.vendor_id = v.id
             ORDER BY d2.is_primary DESC, d2.id LIMIT 1) AS primary_host
    FROM domains d
    JOIN vendors v ON v.id = d.vendor_id
    LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
    LEFT JOIN db_servers s ON s.id = vd.server_id
    LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
    WHERE v.state <> 'deleted';
    FOREACH g IN ARRAY COALESCE(grantees, '{}') LOOP
        EXECUTE 'GRANT SELECT ON routing_entries TO ' || g;
    END LOOP;
END
$$;
-- +goose StatementEnd
DELETE FROM domains WHERE kind = 'custom' AND verified_at IS NULL;
ALTER TABLE domains DROP CONSTRAINT domains_redirect_not_self, DROP CONSTRAINT domains_custom_token,
    DROP COLUMN added_by, DROP COLUMN gave_up_at, DROP COLUMN last_check_error, DROP COLUMN last_checked_at,
    DROP COLUMN check_requested_at, DROP COLUMN checks_since, DROP COLUMN redirect_to,
    DROP COLUMN verify_name, DROP COLUMN verify_token;
