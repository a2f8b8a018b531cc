package jobs_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/wiring"
)

func platformOf(e *testenv.Env) *wiring.Platform {
	return &wiring.Platform{Cfg: e.Cfg, Store: e.Store, Box: e.Box, Objects: e.Objects, Prov: e.Prov, Backups: e.Backups}
}

func TestBackupJobBacksUpEveryVendor(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	for _, s := range []string{"alpha", "bravo", "charlie"} {
		e.CreateVendor(t, s, s)
	}
	r, err := jobs.Start(ctx, platformOf(e), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	if _, err := r.Enqueue(ctx, jobs.BackupAllArgs{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := e.Backups.List(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, b := range list {
			if b.State == "completed" && b.Kind == "scheduled" && b.Actor == "system:scheduler" {
				done++
			}
		}
		if done == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 scheduled backups completed: %+v", done, list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The job itself is recorded as completed by River.
	var state string
	deadline = time.Now().Add(10 * time.Second)
	for state != "completed" && time.Now().Before(deadline) {
		_ = e.CP.QueryRow(ctx, `SELECT state FROM river_job WHERE kind = 'backup_all' ORDER BY id DESC LIMIT 1`).Scan(&state)
		time.Sleep(50 * time.Millisecond)
	}
	if state != "completed" {
		t.Errorf("backup_all job is %q", state)
	}
}

func TestSchedulesFollowTheSettings(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	r, err := jobs.Start(ctx, platformOf(e), logging.New(io.Discard, "text", "error"), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	if got := r.Schedules()["backup.schedule"]; got != "0 2 * * *" {
		t.Fatalf("default backup schedule %q", got)
	}
	actor := platform.Actor{Kind: "cli", Name: "tester"}
	if err := e.Store.SetSetting(ctx, actor, "backup.schedule", "every night"); err == nil {
		t.Fatal("an invalid cron expression was saved")
	}
	if err := e.Store.SetSetting(ctx, actor, "backup.verify_sample", "-3"); err == nil {
		t.Fatal("a negative sample was saved")
	}
	if err := e.Store.SetSetting(ctx, actor, "backup.schedule", "15 3 * * 1-5"); err != nil {
		t.Fatal(err)
	}
	if err := r.RefreshSchedules(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.Schedules()["backup.schedule"]; got != "15 3 * * 1-5" {
		t.Fatalf("schedule after the change: %q", got)
	}
	audit, _ := e.Store.RecentAudit(ctx, platform.AuditFilter{Action: "setting.set"})
	if len(audit) != 1 {
		t.Errorf("setting changes audited: %d", len(audit))
	}
}
