-- +goose Up
-- Expand: stock per product and the movements ledger. The stock columns
-- default to zero, so the release before this one keeps inserting products.
-- Stock is kept as two counters: on hand (in the warehouse) and reserved
-- (held for checkouts); what can be sold is on hand minus reserved, and the
-- CHECK makes sure that never goes below zero, whatever writes the row.
ALTER TABLE products
    ADD COLUMN stock_on_hand integer NOT NULL DEFAULT 0,
    ADD COLUMN stock_reserved integer NOT NULL DEFAULT 0,
    -- NULL: no low-stock notice for this product
    ADD COLUMN low_stock_threshold integer CHECK (low_stock_threshold >= 0),
    ADD CONSTRAINT products_stock_never_negative CHECK (stock_reserved >= 0 AND stock_on_hand >= stock_reserved);

-- Every change of stock, with who made it and why. A product with history
-- cannot be deleted (archive it instead): the ledger is kept.
CREATE TABLE inventory_movements (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     bigint NOT NULL REFERENCES products (id),
    kind           text NOT NULL CHECK (kind IN ('receipt', 'adjustment', 'sale', 'return', 'reservation', 'release')),
    -- positive, except an adjustment, which is the signed change of stock on hand
    quantity       integer NOT NULL CHECK (quantity > 0 OR (kind = 'adjustment' AND quantity <> 0)),
    on_hand_after  integer NOT NULL,
    reserved_after integer NOT NULL,
    reason         text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    reference      text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    staff_id       bigint REFERENCES staff (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_movements_product_idx ON inventory_movements (product_id, id DESC);

-- The dashboard's low-stock notice reads only products with a threshold.
CREATE INDEX products_low_stock_idx ON products ((stock_on_hand - stock_reserved - low_stock_threshold), id)
    WHERE low_stock_threshold IS NOT NULL;

-- +goose Down
DROP INDEX products_low_stock_idx;
DROP TABLE inventory_movements;
ALTER TABLE products
    DROP CONSTRAINT products_stock_never_negative,
    DROP COLUMN low_stock_threshold,
    DROP COLUMN stock_reserved,
    DROP COLUMN stock_on_hand;
