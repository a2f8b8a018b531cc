package app

import (
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/tenantapp/internal/backoffice"
)

// vendorDomains is the back office's way to the control plane's domain
// functions: the router role may call them for one vendor at a time and
// touches nothing else (docs/domains.md).
func (a *App) vendorDomains() backoffice.VendorDomains {
	return domains.VendorClient{DB: a.router, BaseDomain: a.cfg.BaseDomain}
}
