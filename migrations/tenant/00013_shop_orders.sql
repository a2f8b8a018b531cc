-- +goose Up
-- Expand: shoppers, carts, checkout, orders, payments and e-mail. Only new
-- tables and new columns with defaults, so the release before this one
-- keeps working against it.
--
-- Money is integer minor units of the shop's currency, like products.
-- Stock is reserved on products.stock_reserved while an order waits for
-- its payment (orders.stock_state = 'reserved', until reserved_until),
-- taken from stock on hand when it is paid ('committed') and given back
-- when the payment fails or the reservation runs out ('released'); the
-- CHECK on products keeps stock from going below zero whatever writes.

-- Tax and payment settings of the shop.
ALTER TABLE shop_profile
    -- tax rate in basis points (2000 = 20 %); 0 means no tax is shown
    ADD COLUMN tax_rate_bp integer NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    -- whether catalog prices already include the tax (usual in Europe)
    ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT true,
    ADD COLUMN tax_label text NOT NULL DEFAULT 'VAT' CHECK (length(tax_label) BETWEEN 1 AND 30),
    -- the Stripe Express account the shop is paid through, once connected
    ADD COLUMN stripe_account_id text CHECK (stripe_account_id ~ '^acct_[A-Za-z0-9]{1,64}$'),
    ADD COLUMN stripe_charges_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN stripe_details_submitted boolean NOT NULL DEFAULT false;

-- Customers: accounts of this shop only. The address is kept lower-case.
CREATE TABLE customers (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' in email) > 1 AND email = lower(email)),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    phone         text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    password_hash text NOT NULL,
    -- sessions made before this time are no longer valid (password changed or reset)
    sessions_valid_after timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE INDEX customers_created_idx ON customers (created_at DESC, id DESC);

CREATE TABLE customer_addresses (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    line1       text NOT NULL CHECK (length(line1) BETWEEN 1 AND 200),
    line2       text NOT NULL DEFAULT '' CHECK (length(line2) <= 200),
    postal_code text NOT NULL CHECK (length(postal_code) BETWEEN 1 AND 20),
    city        text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    region      text NOT NULL DEFAULT '' CHECK (length(region) <= 100),
    country     char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_addresses_customer_idx ON customer_addresses (customer_id, id);
CREATE UNIQUE INDEX customer_addresses_one_default ON customer_addresses (customer_id) WHERE is_default;

-- One-time tokens of customers (password resets), stored hashed.
CREATE TABLE customer_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('reset')),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_tokens_customer_idx ON customer_tokens (customer_id, purpose);

-- Carts. An anonymous cart is found through the shopper's session (which
-- holds its id and is bound to this shop); a customer has at most one
-- cart, into which the anonymous one is merged at login.
CREATE TABLE carts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX carts_customer_key ON carts (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX carts_updated_idx ON carts (updated_at);

CREATE TABLE cart_lines (
    cart_id    bigint NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, product_id)
);

-- Shipping methods with the shop's rates. countries empty: everywhere.
CREATE TABLE shipping_methods (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 300),
    price_minor     bigint NOT NULL CHECK (price_minor >= 0),
    -- free when the goods cost at least this much
    free_over_minor bigint CHECK (free_over_minor >= 0),
    countries       text[] NOT NULL DEFAULT '{}' CHECK (array_position(countries, NULL) IS NULL),
    active          boolean NOT NULL DEFAULT true,
    position        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shipping_methods (name, description, price_minor, free_over_minor, position) VALUES
    ('Standard delivery', '3 to 5 working days', 495, 5000, 0),
    ('Express delivery', 'next working day', 1295, NULL, 1);

CREATE TABLE orders (
    id                    bigint GENERATED ALWAYS AS IDENTITY (START WITH 1001) PRIMARY KEY,
    -- the checkout form's one-time key: the same checkout sent twice finds this order
    checkout_key          text NOT NULL UNIQUE CHECK (length(checkout_key) BETWEEN 16 AND 64),
    -- the secret in the order's status link (/orders/{token}), for shoppers
    -- without an account: it opens this order's page and nothing else, and
    -- says nothing a copy of this database would not
    access_token          text NOT NULL UNIQUE CHECK (access_token ~ '^[A-Za-z0-9_-]{22,64}$'),
    customer_id           bigint REFERENCES customers (id) ON DELETE SET NULL,
    -- the cart the order was made from, and a digest of its lines then
    cart_id               bigint,
    cart_digest           bytea,
    email                 text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled')),
    payment_status        text NOT NULL DEFAULT 'unpaid'
                          CHECK (payment_status IN ('unpaid', 'paid', 'failed', 'partially_refunded', 'refunded', 'disputed')),
    stock_state           text NOT NULL DEFAULT 'reserved' CHECK (stock_state IN ('reserved', 'committed', 'released')),
    reserved_until        timestamptz NOT NULL,
    currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal_minor        bigint NOT NULL CHECK (subtotal_minor >= 0),
    shipping_minor        bigint NOT NULL CHECK (shipping_minor >= 0),
    tax_minor             bigint NOT NULL CHECK (tax_minor >= 0),
    total_minor           bigint NOT NULL CHECK (total_minor >= 0),
    tax_rate_bp           integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    prices_include_tax    boolean NOT NULL,
    tax_label             text NOT NULL DEFAULT 'VAT',
    shipping_method_id    bigint REFERENCES shipping_methods (id) ON DELETE SET NULL,
    shipping_method_name  text NOT NULL,
    shipping_address      jsonb NOT NULL,
    billing_address       jsonb,
    stripe_account_id     text,
    payment_intent_id     text UNIQUE,
    application_fee_minor bigint NOT NULL DEFAULT 0 CHECK (application_fee_minor >= 0),
    refunded_minor        bigint NOT NULL DEFAULT 0,
    carrier               text NOT NULL DEFAULT '' CHECK (length(carrier) <= 100),
    tracking_number       text NOT NULL DEFAULT '' CHECK (length(tracking_number) <= 100),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    paid_at               timestamptz,
    shipped_at            timestamptz,
    cancelled_at          timestamptz,
    CHECK (total_minor = subtotal_minor + shipping_minor + CASE WHEN prices_include_tax THEN 0 ELSE tax_minor END),
    CHECK (refunded_minor BETWEEN 0 AND total_minor)
);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC) WHERE customer_id IS NOT NULL;
-- reservations that run out are released by a sweep
CREATE INDEX orders_reserved_idx ON orders (reserved_until) WHERE stock_state = 'reserved';

CREATE TABLE order_lines (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       bigint REFERENCES products (id) ON DELETE SET NULL,
    sku              text NOT NULL,
    title            text NOT NULL,
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    quantity         integer NOT NULL CHECK (quantity > 0),
    line_total_minor bigint NOT NULL CHECK (line_total_minor = unit_price_minor * quantity)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, id);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);

-- The order's timeline: what happened, who did it, and internal notes.
CREATE TABLE order_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind ~ '^[a-z_.]{1,40}$'),
    message    text NOT NULL DEFAULT '' CHECK (length(message) <= 5000),
    -- a note is for staff only; everything else may be shown to the shopper
    internal   boolean NOT NULL DEFAULT false,
    staff_id   bigint REFERENCES staff (id) ON DELETE SET NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

-- Payments, one per PaymentIntent that succeeded: the webhook and the
-- shopper's return race to write it, and the unique key lets one win.
CREATE TABLE payments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id          bigint NOT NULL REFERENCES orders (id),
    payment_intent_id text NOT NULL UNIQUE,
    amount_minor      bigint NOT NULL CHECK (amount_minor >= 0),
    currency          char(3) NOT NULL,
    source            text NOT NULL CHECK (source IN ('webhook', 'return', 'reconcile')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_idx ON payments (order_id);

-- Refunds, asked for by staff (or made when a payment arrived for an order
-- that could no longer be served) and reported by Stripe.
CREATE TABLE refunds (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders (id),
    -- the idempotency key of the Stripe call, made before the call
    request_key      text NOT NULL UNIQUE,
    stripe_refund_id text UNIQUE,
    amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
    reason           text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    status           text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'pending', 'succeeded', 'failed', 'canceled')),
    staff_id         bigint REFERENCES staff (id) ON DELETE SET NULL,
    restock          boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id);

-- E-mail templates the shop has edited; a kind with no row uses the
-- default kept in the code.
CREATE TABLE notification_templates (
    kind       text PRIMARY KEY CHECK (kind IN ('order_confirmation', 'shipping_notice', 'customer_password_reset', 'staff_invitation', 'staff_password_reset')),
    subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES staff (id) ON DELETE SET NULL
);

-- The outbox and log of e-mails. A row is written in the same transaction
-- as what it tells about; the job system sends it, retries failures with
-- backoff and keeps the result here for the back office's log.
CREATE TABLE notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('order_confirmation', 'shipping_notice', 'customer_password_reset', 'staff_invitation', 'staff_password_reset')),
    to_email      text NOT NULL CHECK (length(to_email) BETWEEN 3 AND 254),
    -- what the template is given: names, links (built from the shop's
    -- domain as the control plane knows it), the order's id
    data          jsonb NOT NULL DEFAULT '{}',
    order_id      bigint REFERENCES orders (id) ON DELETE SET NULL,
    customer_id   bigint REFERENCES customers (id) ON DELETE SET NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    subject       text NOT NULL DEFAULT '',
    last_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at, id) WHERE state IN ('pending', 'sending');
CREATE INDEX notifications_created_idx ON notifications (created_at DESC, id DESC);
CREATE INDEX notifications_order_idx ON notifications (order_id) WHERE order_id IS NOT NULL;

-- +goose Down
DROP TABLE notifications, notification_templates, refunds, payments, order_events, order_lines, orders,
    shipping_methods, cart_lines, carts, customer_tokens, customer_addresses, customers;
ALTER TABLE shop_profile
    DROP COLUMN stripe_details_submitted, DROP COLUMN stripe_charges_enabled, DROP COLUMN stripe_account_id,
    DROP COLUMN tax_label, DROP COLUMN prices_include_tax, DROP COLUMN tax_rate_bp;
