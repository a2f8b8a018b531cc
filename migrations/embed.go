// Package migrations embeds the goose SQL migration sets: controlplane/ for
// the control-plane database and tenant/ for every vendor database.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed controlplane/*.sql tenant/*.sql
var files embed.FS

// ControlPlane returns the control-plane migrations, rooted at their folder.
func ControlPlane() fs.FS { return sub("controlplane") }

// Tenant returns the vendor-database migrations, rooted at their folder.
func Tenant() fs.FS { return sub("tenant") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the folder is embedded above; this cannot fail
	}
	return f
}
