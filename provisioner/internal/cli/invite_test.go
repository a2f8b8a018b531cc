package cli_test

import (
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestInviteOwnerCommand(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	inbox := mailtest.New(t, e.Vars["STOREFLEET_MAILPIT_URL"])
	owner := mailtest.UniqueAddress("owner", "welcome.example")
	if r := run(t, e, nil, "create-vendor", "--slug", "welcome", "--name", "Welcome", "--owner-email", owner); r.code != 0 {
		t.Fatalf("create-vendor: %+v", r)
	}
	inbox.Wait(t, owner, "Your shop Welcome is ready")

	r := run(t, e, nil, "invite-owner", "--slug", "welcome")
	if r.code != 0 || !strings.Contains(r.stdout, "invitation e-mailed to "+owner) || strings.Contains(r.stdout, "/admin/invite/") {
		t.Fatalf("invite-owner: %+v", r)
	}
	inbox.WaitN(t, owner, "is ready", 2)

	// No mailer: the link is printed for the operator to hand over.
	r = run(t, e, []string{"STOREFLEET_SMTP_URL="}, "invite-owner", "--slug", "welcome")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing was sent") || !strings.Contains(r.stdout, "http://welcome.localhost:8080/admin/invite/") {
		t.Fatalf("invite-owner without mail: %+v", r)
	}

	for _, tc := range []struct {
		args []string
		code int
		fix  string
	}{
		{[]string{"invite-owner"}, 2, "fix: run `provisioner invite-owner --help`"},
		{[]string{"invite-owner", "--slug", "nobody"}, 1, "fix: check the slug"},
		{[]string{"invite-owner", "--slug", "welcome", "--email", "not an address"}, 1, "fix: correct --email"},
	} {
		r := run(t, e, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.fix) {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
}
