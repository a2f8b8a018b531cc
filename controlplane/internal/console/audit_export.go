package console

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

// auditExportLimit bounds one CSV export; narrow the filter for more.
const auditExportLimit = 100_000

// GET /admin/audit.csv?admin=&action=&vendor=&from=&to=
//
// Every entry the viewer's filter selects (up to auditExportLimit),
// newest first, as CSV. Cells that a spreadsheet would take for a formula
// are escaped (CSVCell).
func (h *Handler) auditExport(w http.ResponseWriter, r *http.Request) error {
	_, aq, err := h.parseAuditForm(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="storefleet-audit-%s.csv"`, time.Now().UTC().Format("20060102-150405")))
	cw := csv.NewWriter(w)
	write := func(cells ...string) error {
		for i, c := range cells {
			cells[i] = CSVCell(c)
		}
		return cw.Write(cells)
	}
	if err := write("id", "at", "actor", "action", "target_type", "target_id", "before", "after", "client_addr", "request_id"); err != nil {
		return err
	}
	err = h.store.EachAudit(r.Context(), aq, auditExportLimit, func(e platform.AuditRow) error {
		return write(strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.TargetType, e.TargetID,
			string(e.Before), string(e.After), e.ClientAddr, e.RequestID)
	})
	if err != nil {
		// The header is sent: end the file with a line that says so.
		_ = cw.Write([]string{"# export stopped: " + err.Error()})
		h.log.Error("audit export stopped", "err", err)
	}
	cw.Flush()
	return cw.Error()
}

// CSVCell escapes a cell that a spreadsheet would read as a formula (it
// starts with = + - @, a tab or a carriage return) by putting a single
// quote first (CSV injection, OWASP's advice).
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
