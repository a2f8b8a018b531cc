-- +goose Up
-- Expand: what the back office's catalog needs. Every new product column is
-- nullable, so the release before this one (which does not know them) keeps
-- reading and inserting products. The new CHECKs hold for every existing
-- row (the new columns are NULL there), so adding them only reads the table
-- once; vendor catalogs are small enough for that to take milliseconds.
ALTER TABLE products
    ADD COLUMN gtin text CHECK (gtin ~ '^([0-9]{8}|[0-9]{12,14})$'),
    ADD COLUMN sale_price_minor bigint CHECK (sale_price_minor >= 0),
    ADD COLUMN updated_by bigint REFERENCES staff (id) ON DELETE SET NULL,
    ADD CONSTRAINT products_sale_below_price CHECK (sale_price_minor < price_minor);

-- The back office's product list: newest changes first, filters by state
-- and price, look-ups by GTIN.
CREATE INDEX products_updated_idx ON products (updated_at DESC, id DESC);
CREATE INDEX products_state_price_idx ON products (state, price_minor, id);
CREATE INDEX products_gtin_idx ON products (gtin) WHERE gtin IS NOT NULL;

CREATE TABLE categories (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX categories_name_key ON categories (lower(name));

CREATE TABLE product_categories (
    product_id  bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category_id bigint NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, category_id)
);
CREATE INDEX product_categories_category_idx ON product_categories (category_id, product_id);

-- Staff API tokens (purpose 'api') show when they were last used.
ALTER TABLE staff_tokens ADD COLUMN IF NOT EXISTS last_used_at timestamptz;

-- +goose Down
ALTER TABLE staff_tokens DROP COLUMN IF EXISTS last_used_at;
DROP TABLE product_categories, categories;
DROP INDEX products_gtin_idx, products_state_price_idx, products_updated_idx;
ALTER TABLE products
    DROP CONSTRAINT products_sale_below_price,
    DROP COLUMN updated_by,
    DROP COLUMN sale_price_minor,
    DROP COLUMN gtin;
