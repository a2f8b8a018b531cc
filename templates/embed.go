// Package templates embeds the html/template pages of both services:
// controlplane/ for the admin console and tenantapp/ for storefronts.
package templates

import "embed"

// FS holds controlplane/ and tenantapp/, each with a layout/ folder of
// shared partials.
//
//go:embed controlplane tenantapp
var FS embed.FS
