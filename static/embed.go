// Package static embeds the files served under /static/: style sheets and
// vendored scripts (Alpine.js 3.15.11, pinned; no CDN at run time).
package static

import "embed"

// FS holds css/, js/ and vendor/.
//
//go:embed css js vendor
var FS embed.FS

// Alpine is the path of the vendored Alpine.js under /static/.
const Alpine = "vendor/alpine-3.15.11.min.js"
