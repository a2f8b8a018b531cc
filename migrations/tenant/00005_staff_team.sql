-- +goose Up
-- Team management: custom roles get a description, and the database itself
-- refuses to remove, disable or demote the shop's owner (the back office
-- refuses first; this is the backstop against any other path).

ALTER TABLE staff_roles ADD COLUMN description text NOT NULL DEFAULT ''
    CHECK (length(description) <= 300);
UPDATE staff_roles SET description = CASE name
    WHEN 'Owner' THEN 'The shop''s owner: everything, including the team and its roles.'
    WHEN 'Manager' THEN 'Runs the shop day to day: everything except the team and its roles.'
    WHEN 'Catalog editor' THEN 'Products, stock and media.'
    WHEN 'Order clerk' THEN 'Orders and customers; reads the catalog and stock.'
    ELSE description END
WHERE builtin;

CREATE INDEX staff_role_idx ON staff (role_id);

-- +goose StatementBegin
CREATE FUNCTION staff_owner_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.is_owner THEN
            RAISE EXCEPTION 'the shop''s owner cannot be removed' USING ERRCODE = 'P0403';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.is_owner AND (NOT NEW.is_owner OR NEW.role_id <> OLD.role_id OR NEW.status = 'disabled') THEN
        RAISE EXCEPTION 'the shop''s owner cannot be disabled or given another role' USING ERRCODE = 'P0403';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER staff_owner_guard BEFORE UPDATE OR DELETE ON staff
    FOR EACH ROW EXECUTE FUNCTION staff_owner_guard();

-- +goose Down
DROP TRIGGER staff_owner_guard ON staff;
DROP FUNCTION staff_owner_guard();
DROP INDEX staff_role_idx;
ALTER TABLE staff_roles DROP COLUMN description;
