-- +goose Up
-- Expand: marketplace imports. A feed file goes into the vendor's bucket
-- (imports/<yyyy>/<random>.feed, a key the server makes), an import job
-- reads it into the staging table (one row per feed item, never touched by
-- the shop), rejected rows are kept with their line and reason, and the
-- vendor publishes a selection of staged items into the catalog. Each
-- publish keeps a snapshot of what it changed, so that it can be undone.
-- The jobs run in the control plane; their state lives here.

-- Products get a brand (feeds carry one; the storefront filters by it).
ALTER TABLE products ADD COLUMN brand text NOT NULL DEFAULT '' CHECK (length(brand) <= 150);

CREATE TABLE imports (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL CHECK (source IN ('upload', 'url')),
    -- the uploaded file's name, cleaned, for people only
    file_name       text NOT NULL DEFAULT '' CHECK (length(file_name) <= 200),
    source_url      text NOT NULL DEFAULT '' CHECK (length(source_url) <= 2000),
    -- where the file is kept; empty until a URL has been fetched
    object_key      text NOT NULL DEFAULT '' CHECK (object_key = '' OR object_key ~ '^imports/[0-9]{4}/[a-z0-9]{16,64}\.feed$'),
    size_bytes      bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    -- the feed's language: its titles and descriptions are kept as that
    -- translation; empty means the shop's own language
    language        text NOT NULL DEFAULT '' CHECK (language ~ '^([a-z]{2})?$'),
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
    cancel_requested boolean NOT NULL DEFAULT false,
    rows_read       bigint NOT NULL DEFAULT 0,
    rows_imported   bigint NOT NULL DEFAULT 0,
    rows_rejected   bigint NOT NULL DEFAULT 0,
    -- of rows_imported: new items, and items whose content changed
    rows_new        bigint NOT NULL DEFAULT 0,
    rows_changed    bigint NOT NULL DEFAULT 0,
    error           text NOT NULL DEFAULT '' CHECK (length(error) <= 2000),
    attempts        integer NOT NULL DEFAULT 0,
    -- a running import is held by its worker until then; a worker that
    -- died lets go, and the next one starts the file again
    locked_until    timestamptz,
    created_by      bigint REFERENCES staff (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX imports_created_idx ON imports (created_at DESC, id DESC);
CREATE INDEX imports_open_idx ON imports (id) WHERE state IN ('queued', 'running');

-- Rows of a feed that were not imported, with why.
CREATE TABLE import_rejections (
    import_id bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      bigint NOT NULL CHECK (line > 0),
    item_id   text NOT NULL DEFAULT '' CHECK (length(item_id) <= 200),
    reason    text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    PRIMARY KEY (import_id, line)
);

-- The staging area: one row per feed item (by its id in the feed).
CREATE TABLE marketplace_products (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id             text NOT NULL UNIQUE CHECK (length(external_id) BETWEEN 1 AND 64),
    title                   text NOT NULL DEFAULT '' CHECK (length(title) <= 300),
    description             text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    link                    text NOT NULL DEFAULT '' CHECK (length(link) <= 2000),
    image_link              text NOT NULL DEFAULT '' CHECK (length(image_link) <= 2000),
    additional_image_links  text[] NOT NULL DEFAULT '{}',
    availability            text NOT NULL DEFAULT '' CHECK (availability IN ('', 'in_stock', 'out_of_stock', 'preorder', 'backorder')),
    price_minor             bigint CHECK (price_minor >= 0),
    sale_price_minor        bigint CHECK (sale_price_minor >= 0),
    currency                char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    brand                   text NOT NULL DEFAULT '' CHECK (length(brand) <= 150),
    gtin                    text CHECK (gtin ~ '^([0-9]{8}|[0-9]{12,14})$'),
    mpn                     text NOT NULL DEFAULT '' CHECK (length(mpn) <= 100),
    condition               text NOT NULL DEFAULT '' CHECK (length(condition) <= 20),
    google_product_category text NOT NULL DEFAULT '' CHECK (length(google_product_category) <= 750),
    product_type            text NOT NULL DEFAULT '' CHECK (length(product_type) <= 750),
    item_group_id           text NOT NULL DEFAULT '' CHECK (length(item_group_id) <= 100),
    color                   text NOT NULL DEFAULT '' CHECK (length(color) <= 100),
    size                    text NOT NULL DEFAULT '' CHECK (length(size) <= 100),
    -- columns the feed had that we do not know, by header
    attributes              jsonb NOT NULL DEFAULT '{}',
    -- {"fr": {"title": ..., "description": ...}, ...}
    translations            jsonb NOT NULL DEFAULT '{}',
    -- a digest of everything above: a re-import that changes nothing
    -- leaves the row alone
    content_hash            bytea NOT NULL CHECK (length(content_hash) = 32),
    -- the import that made or last changed it, and when
    last_import_id          bigint REFERENCES imports (id) ON DELETE SET NULL,
    first_seen_at           timestamptz NOT NULL DEFAULT now(),
    changed_at              timestamptz NOT NULL DEFAULT now(),
    -- the catalog product it was last published as, and the digest then
    product_id              bigint REFERENCES products (id) ON DELETE SET NULL,
    published_hash          bytea,
    published_at            timestamptz
);
CREATE INDEX marketplace_products_changed_idx ON marketplace_products (changed_at DESC, id DESC);
CREATE INDEX marketplace_products_brand_idx ON marketplace_products (lower(brand), id);
CREATE INDEX marketplace_products_gtin_idx ON marketplace_products (gtin) WHERE gtin IS NOT NULL;
CREATE INDEX marketplace_products_price_idx ON marketplace_products (price_minor, id);
CREATE INDEX marketplace_products_product_idx ON marketplace_products (product_id) WHERE product_id IS NOT NULL;

-- A publish: a selection of staged items written into the catalog.
CREATE TABLE publishes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'finished', 'failed', 'undone')),
    -- what was chosen, for people: "3 items" or the filter
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    -- set stock from the feed's availability (in stock: stock_quantity)
    stock_from_availability boolean NOT NULL DEFAULT false,
    stock_quantity  integer NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    -- the state new products get
    new_state       text NOT NULL DEFAULT 'draft' CHECK (new_state IN ('draft', 'active')),
    items_total     integer NOT NULL DEFAULT 0,
    items_done      integer NOT NULL DEFAULT 0,
    created_count   integer NOT NULL DEFAULT 0,
    updated_count   integer NOT NULL DEFAULT 0,
    unchanged_count integer NOT NULL DEFAULT 0,
    skipped_count   integer NOT NULL DEFAULT 0,
    error           text NOT NULL DEFAULT '' CHECK (length(error) <= 2000),
    attempts        integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_by      bigint REFERENCES staff (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    undone_by       bigint REFERENCES staff (id) ON DELETE SET NULL,
    undone_at       timestamptz
);
CREATE INDEX publishes_created_idx ON publishes (created_at DESC, id DESC);
CREATE INDEX publishes_open_idx ON publishes (id) WHERE state IN ('queued', 'running');

-- The items of a publish, frozen when it was asked for, and what became
-- of each: the product it made or changed, and the product as it was
-- before (NULL: the publish created it), for undo.
CREATE TABLE publish_items (
    publish_id     bigint NOT NULL REFERENCES publishes (id) ON DELETE CASCADE,
    staged_id      bigint NOT NULL REFERENCES marketplace_products (id) ON DELETE CASCADE,
    outcome        text CHECK (outcome IN ('created', 'updated', 'unchanged', 'skipped')),
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    product_id     bigint,
    product_before jsonb,
    staged_before  jsonb,
    PRIMARY KEY (publish_id, staged_id)
);
CREATE INDEX publish_items_product_idx ON publish_items (product_id, publish_id) WHERE product_id IS NOT NULL;

-- Images of published items, fetched from their links into the media
-- library by a job with bounded concurrency; failures are kept per item
-- and retried with backoff.
CREATE TABLE image_fetches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id   bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    url          text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    position     integer NOT NULL DEFAULT 0 CHECK (position >= 0),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error   text NOT NULL DEFAULT '' CHECK (length(last_error) <= 2000),
    media_id     bigint REFERENCES media (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, url)
);
CREATE INDEX image_fetches_open_idx ON image_fetches (run_after, id) WHERE state IN ('pending', 'running');

-- +goose Down
DROP TABLE image_fetches, publish_items, publishes, marketplace_products, import_rejections, imports;
ALTER TABLE products DROP COLUMN brand;
