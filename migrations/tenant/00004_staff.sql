-- +goose Up
-- The vendor's staff: accounts, roles built from permissions, one-time
-- tokens (invitations, password resets), and the vendor's own audit log.

CREATE TABLE staff_roles (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    builtin     boolean NOT NULL DEFAULT false,
    permissions text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_roles_name_key ON staff_roles (lower(name));

INSERT INTO staff_roles (name, builtin, permissions) VALUES
    ('Owner', true, ARRAY['dashboard.read', 'catalog.read', 'catalog.write', 'inventory.read', 'inventory.write',
                          'media.read', 'media.write', 'orders.read', 'orders.write', 'customers.read',
                          'settings.write', 'staff.manage', 'audit.read']),
    ('Manager', true, ARRAY['dashboard.read', 'catalog.read', 'catalog.write', 'inventory.read', 'inventory.write',
                            'media.read', 'media.write', 'orders.read', 'orders.write', 'customers.read',
                            'settings.write', 'audit.read']),
    ('Catalog editor', true, ARRAY['dashboard.read', 'catalog.read', 'catalog.write', 'inventory.read',
                                   'inventory.write', 'media.read', 'media.write']),
    ('Order clerk', true, ARRAY['dashboard.read', 'orders.read', 'orders.write', 'customers.read',
                                'catalog.read', 'inventory.read']);

CREATE TABLE staff (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                text NOT NULL CHECK (position('@' in email) > 1),
    name                 text NOT NULL DEFAULT '',
    password_hash        text,              -- NULL until the invitation is accepted
    role_id              bigint NOT NULL REFERENCES staff_roles (id),
    is_owner             boolean NOT NULL DEFAULT false,
    status               text NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'active', 'disabled')),
    -- sessions made before this time are no longer valid ("log out everywhere")
    sessions_valid_after timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    last_login_at        timestamptz
);
CREATE UNIQUE INDEX staff_email_key ON staff (lower(email));
-- one owner per shop
CREATE UNIQUE INDEX staff_one_owner ON staff (is_owner) WHERE is_owner;

CREATE TABLE staff_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('invite', 'reset', 'api')),
    name       text NOT NULL DEFAULT '',
    token_hash bytea NOT NULL UNIQUE,       -- SHA-256; the token is sent once
    expires_at timestamptz,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_tokens_staff_idx ON staff_tokens (staff_id, purpose);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    staff_id    bigint REFERENCES staff (id) ON DELETE SET NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    client_addr text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- +goose Down
DROP TABLE audit_log, staff_tokens, staff, staff_roles;
