package platform

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Plan is a vendor's plan (vendors.plan).
type Plan struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// Plans are the plans a vendor may be on, as the CHECK on vendors.plan
// allows them; the first is every new vendor's.
var Plans = []Plan{{"starter", "Starter"}, {"growth", "Growth"}, {"scale", "Scale"}}

// ValidPlan reports whether name is a known plan.
func ValidPlan(name string) bool {
	for _, p := range Plans {
		if p.Name == name {
			return true
		}
	}
	return false
}

// PlanLabel is a plan's name for people.
func PlanLabel(name string) string {
	for _, p := range Plans {
		if p.Name == name {
			return p.Label
		}
	}
	return name
}

// VendorPlans returns the plans of the given vendors, by id.
func (s *Store) VendorPlans(ctx context.Context, ids []int64) (map[int64]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, plan FROM vendors WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read vendor plans: %w", err)
	}
	out := make(map[int64]string, len(ids))
	var id int64
	var plan string
	if _, err := pgx.ForEachRow(rows, []any{&id, &plan}, func() error { out[id] = plan; return nil }); err != nil {
		return nil, fmt.Errorf("read vendor plans: %w", err)
	}
	return out, nil
}

// ErrUnknownPlan means a plan name is not one of Plans.
var ErrUnknownPlan = errors.New("no such plan")

// SetVendorPlan puts a live vendor on a plan, with an audit row
// (vendor.plan_change). It reports whether the plan changed: a vendor
// already on the plan is left alone and nothing is audited.
func (s *Store) SetVendorPlan(ctx context.Context, actor Actor, vendorID int64, plan string) (bool, error) {
	if !ValidPlan(plan) {
		return false, fmt.Errorf("plan %q: %w", plan, ErrUnknownPlan)
	}
	changed := false
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		var old string
		var state State
		err := tx.QueryRow(ctx, `SELECT plan, state FROM vendors WHERE id = $1 FOR UPDATE`, vendorID).Scan(&old, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("vendor %d: %w", vendorID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state == StateDeleted || state == StateDeleting {
			return fmt.Errorf("the vendor is %s: its plan cannot change", state.Label())
		}
		if old == plan {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE vendors SET plan = $2, updated_at = now() WHERE id = $1`, vendorID, plan); err != nil {
			return err
		}
		changed = true
		return Audit(ctx, tx, actor, AuditEntry{Action: "vendor.plan_change", TargetType: "vendor",
			TargetID: fmt.Sprint(vendorID), Before: map[string]string{"plan": old}, After: map[string]string{"plan": plan}})
	})
	if err != nil {
		return false, fmt.Errorf("change the plan of vendor %d: %w", vendorID, err)
	}
	return changed, nil
}
