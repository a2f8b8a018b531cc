-- +goose Up
-- The shop's settings and theme: one typed row, so the database itself
-- refuses a colour that is not #rrggbb or a logo that is not in the media
-- library. Fonts and languages are chosen from lists kept in the code
-- (storefront.Fonts, storefront.Languages); the checks here bound their
-- shape. Legal pages are plain text, shown escaped.

CREATE TABLE shop_profile (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- shown instead of the name the platform knows, if set
    display_name     text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    logo_media_id    bigint REFERENCES media (id) ON DELETE RESTRICT,
    accent_color     text NOT NULL DEFAULT '#0b7285' CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
    accent_ink_color text NOT NULL DEFAULT '#ffffff' CHECK (accent_ink_color ~ '^#[0-9a-f]{6}$'),
    background_color text NOT NULL DEFAULT '#fbfaf8' CHECK (background_color ~ '^#[0-9a-f]{6}$'),
    text_color       text NOT NULL DEFAULT '#22211f' CHECK (text_color ~ '^#[0-9a-f]{6}$'),
    font             text NOT NULL DEFAULT 'system' CHECK (font ~ '^[a-z][a-z-]{0,29}$'),
    currency         char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    language         text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2}$'),
    contact_email    text NOT NULL DEFAULT '' CHECK (length(contact_email) <= 254),
    contact_phone    text NOT NULL DEFAULT '' CHECK (length(contact_phone) <= 40),
    contact_address  text NOT NULL DEFAULT '' CHECK (length(contact_address) <= 500),
    imprint          text NOT NULL DEFAULT '' CHECK (length(imprint) <= 20000),
    terms            text NOT NULL DEFAULT '' CHECK (length(terms) <= 50000),
    privacy          text NOT NULL DEFAULT '' CHECK (length(privacy) <= 50000),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       bigint REFERENCES staff (id) ON DELETE SET NULL
);
INSERT INTO shop_profile DEFAULT VALUES;

-- +goose Down
DROP TABLE shop_profile;
