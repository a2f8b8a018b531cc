-- +goose Up
-- The media library: images staff upload, kept in the vendor's bucket under
-- keys the server makes (media/<yyyy>/<random>.<ext>, never from the
-- uploaded name); the smaller sizes made from them; the durable queue of
-- work on the bucket (making thumbnails, removing the objects of deleted
-- media); and which products use which media. A media row that a product
-- uses cannot be deleted (ON DELETE RESTRICT), whatever writes the rows.

CREATE TABLE media (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_key    text NOT NULL UNIQUE CHECK (object_key ~ '^media/[0-9]{4}/[a-z0-9]{16,64}\.(jpg|png|gif|webp)$'),
    -- the uploaded file's name, cleaned, for people only
    original_name text NOT NULL DEFAULT '' CHECK (length(original_name) <= 200),
    alt_text      text NOT NULL DEFAULT '' CHECK (length(alt_text) <= 500),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/gif', 'image/webp')),
    size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    sha256        bytea NOT NULL CHECK (length(sha256) = 32),
    thumbs_state  text NOT NULL DEFAULT 'pending' CHECK (thumbs_state IN ('pending', 'ready', 'failed')),
    created_by    bigint REFERENCES staff (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_sha256_idx ON media (sha256);

-- The sizes made from an image (the longest side at most size pixels).
CREATE TABLE media_variants (
    media_id     bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    size         integer NOT NULL CHECK (size > 0),
    object_key   text NOT NULL UNIQUE,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    PRIMARY KEY (media_id, size)
);

-- Work on the bucket, done by the tenant app's media worker: it survives
-- restarts (a job whose worker died is taken up again once its lock
-- expires) and any number of app replicas share it (FOR UPDATE SKIP LOCKED).
CREATE TABLE media_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('thumbnails', 'purge')),
    -- thumbnails: the image to make sizes of (the job goes with it)
    media_id     bigint REFERENCES media (id) ON DELETE CASCADE,
    -- purge: the objects of a deleted image
    object_keys  text[] NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'thumbnails' OR media_id IS NOT NULL)
);
CREATE INDEX media_jobs_open_idx ON media_jobs (id) WHERE state IN ('pending', 'running');

-- Which products show which media, in order. Products are deleted with
-- their links; media in use cannot be deleted.
CREATE TABLE product_media (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    media_id   bigint NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    position   integer NOT NULL DEFAULT 0 CHECK (position >= 0),
    PRIMARY KEY (product_id, media_id)
);
CREATE INDEX product_media_media_idx ON product_media (media_id);

-- +goose Down
DROP TABLE product_media, media_jobs, media_variants, media;
