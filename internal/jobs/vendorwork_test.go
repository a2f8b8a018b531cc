package jobs_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
)

// A control plane that died after queuing a vendor's work (the request
// is marked queued, but the job went with the process) takes the request
// up again as soon as the next one starts.
func TestOpenVendorWorkIsTakenUpAtStart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := e.CreateVendor(t, "resumer", "Resumer")
	pool := e.VendorPool(t, v)
	objects, err := e.Objects.VendorClient(v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("id\ttitle\tprice\nA\tOne\t1.00 EUR\n")
	imp, err := marketplace.CreateImport(ctx, pool, objects, v.Bucket, marketplace.NewImport{FileName: "f.tsv",
		Body: bytes.NewReader(body), Size: int64(len(body))}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, e.CP); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CP.Exec(ctx, `INSERT INTO vendor_work (vendor_id, kind, requested_at, enqueued_at)
		VALUES ($1, 'imports', now() - interval '1 minute', now())`, v.ID); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, platformOf(e), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := marketplace.GetImport(ctx, pool, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == marketplace.StateFinished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the open request was not taken up: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request stayed open after the vendor's queue was empty")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
