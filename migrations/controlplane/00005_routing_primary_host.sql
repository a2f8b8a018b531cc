-- +goose Up
-- The tenant app builds links in e-mails (invitations, password resets)
-- from the vendor's primary domain as the control plane knows it, never
-- from a request's Host: routing_entries carries that host on every row.
-- The column is appended at the end, as CREATE OR REPLACE VIEW requires.

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
       (SELECT d2.host FROM domains d2 WHERE d2.vendor_id = v.id
         ORDER BY d2.is_primary DESC, d2.id LIMIT 1) AS primary_host
FROM domains d
JOIN vendors v ON v.id = d.vendor_id
LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
LEFT JOIN db_servers s ON s.id = vd.server_id
LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
WHERE v.state <> 'deleted';

-- +goose Down
-- A view loses a column only by being made again; the grants to the
-- router roles are kept.
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
           v.read_only
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
