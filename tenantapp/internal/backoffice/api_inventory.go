package backoffice

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type apiMovement struct {
	ID            int64     `json:"id"`
	ProductID     int64     `json:"product_id"`
	Kind          string    `json:"kind"`
	Quantity      int64     `json:"quantity"`
	OnHandAfter   int64     `json:"on_hand_after"`
	ReservedAfter int64     `json:"reserved_after"`
	Reason        string    `json:"reason"`
	Reference     string    `json:"reference"`
	StaffID       *int64    `json:"staff_id"`
	CreatedAt     time.Time `json:"created_at"`
}

func movementJSON(m *catalog.MovementRecord) apiMovement {
	return apiMovement{ID: m.ID, ProductID: m.ProductID, Kind: m.Kind, Quantity: m.Quantity, OnHandAfter: m.OnHandAfter,
		ReservedAfter: m.ReservedAfter, Reason: m.Reason, Reference: m.Reference, StaffID: m.StaffID, CreatedAt: m.CreatedAt.UTC()}
}

// GET /api/v1/vendor/products/{id}/movements: the ledger, newest first;
// ?before=<id> pages back.
func (h *Handler) apiMovementList(w http.ResponseWriter, r *http.Request) error {
	p, err := h.apiProduct(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	errs := catalog.FieldErrors{}
	var before int64
	limit := 100
	if s := q.Get("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			errs["before"] = "Use the id of a movement."
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 500 {
			errs["limit"] = "Use a number from 1 to 500."
		}
	}
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	moves, err := catalog.Movements(r.Context(), tenant.FromContext(r.Context()).Pool, p.ID, before, limit+1)
	if err != nil {
		return err
	}
	var next *int64
	if len(moves) > limit {
		moves = moves[:limit]
		next = &moves[limit-1].ID
	}
	out := make([]apiMovement, len(moves))
	for i := range moves {
		out[i] = movementJSON(&moves[i])
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"movements": out, "stock": stockJSON(p.Stock), "next_before": next})
	return nil
}

type apiMovementInput struct {
	Kind      string `json:"kind"`
	Quantity  int64  `json:"quantity"`
	Reason    string `json:"reason"`
	Reference string `json:"reference"`
}

// POST /api/v1/vendor/products/{id}/movements: records a movement. One
// that would take stock below zero is refused with 409 and changes
// nothing.
func (h *Handler) apiMovementCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	var in apiMovementInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pool := tenant.FromContext(ctx).Pool
	rec, err := catalog.Move(ctx, pool, catalog.Movement{ProductID: id, Kind: in.Kind, Quantity: in.Quantity,
		Reason: in.Reason, Reference: in.Reference}, apiActor(r))
	var se *catalog.StockError
	if errors.As(err, &se) {
		return &web.Error{Status: http.StatusConflict, Message: se.Error(), Field: "quantity", Extra: map[string]any{"stock": stockJSON(se.Stock)}}
	}
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return apiFieldErrors(fe)
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	s := catalog.Stock{OnHand: rec.OnHandAfter, Reserved: rec.ReservedAfter, Available: rec.OnHandAfter - rec.ReservedAfter}
	if p, err := catalog.Get(ctx, pool, id); err == nil {
		s.Threshold = p.Stock.Threshold
	}
	web.WriteJSON(w, http.StatusCreated, map[string]any{"movement": movementJSON(rec), "stock": stockJSON(s)})
	return nil
}

// GET /api/v1/vendor/low-stock: products at or below their threshold.
func (h *Handler) apiLowStock(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 500 {
			return apiFieldErrors(catalog.FieldErrors{"limit": "Use a number from 1 to 500."})
		}
		limit = v
	}
	items, err := catalog.LowStock(r.Context(), tenant.FromContext(r.Context()).Pool, limit)
	if err != nil {
		return err
	}
	type item struct {
		ID        int64  `json:"id"`
		SKU       string `json:"sku"`
		Title     string `json:"title"`
		Available int64  `json:"available"`
		Threshold int64  `json:"low_stock_threshold"`
	}
	out := make([]item, len(items))
	for i, it := range items {
		out[i] = item(it)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"products": out})
	return nil
}
