// Package wiring builds the parts that the control plane and the
// provisioner CLI both need from a Config: the control-plane store, the
// secret box, the object store and the provisioner.
package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/templates"
)

// Platform is the control-plane side of the platform, wired.
type Platform struct {
	Cfg     *config.Config
	Store   *platform.Store
	Box     *secretbox.Box
	Objects *storage.Admin
	Prov    *provision.Provisioner
	Backups *backup.Service
}

// Options tune Open.
type Options struct {
	// CrashAfter is passed to the provisioner (fault-injection tests).
	CrashAfter string
}

// Open connects to the control-plane database and the object store.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, o Options) (*Platform, error) {
	if err := cfg.Require("STOREFLEET_CONTROLPLANE_DATABASE_URL", "STOREFLEET_MASTER_KEY", "STOREFLEET_S3_ENDPOINT"); err != nil {
		return nil, err
	}
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	pool, err := database.Open(ctx, cfg.ControlPlaneURL)
	if err != nil {
		return nil, err
	}
	objects, err := storage.NewAdmin(storage.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Secure: cfg.S3Secure, Region: cfg.S3Region})
	if err != nil {
		pool.Close()
		return nil, err
	}
	mailer, err := mail.New(cfg.SMTPURL, templates.FS, "tenantapp")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	store := platform.New(pool)
	prov := provision.New(provision.Options{
		Store: store, Box: box, Objects: objects, Prefix: cfg.Prefix, TemplateDB: cfg.TemplateDB,
		BaseDomain: cfg.BaseDomain, DeleteGrace: cfg.VendorDeleteGrace, SSLMode: cfg.DBSSLMode, Logger: logger, CrashAfter: o.CrashAfter,
		Mailer: mailer, TenantPublicURL: cfg.TenantPublicURL,
	})
	backups := &backup.Service{Store: store, Prov: prov, Objects: objects, Bucket: cfg.BackupBucket,
		SSLMode: cfg.DBSSLMode, Grace: cfg.ReplacedDBGrace, Logger: logger, CrashAfter: o.CrashAfter}
	return &Platform{Cfg: cfg, Store: store, Box: box, Objects: objects, Prov: prov, Backups: backups}, nil
}

// Close releases every connection.
func (p *Platform) Close() {
	p.Prov.Close()
	p.Store.Pool().Close()
}
