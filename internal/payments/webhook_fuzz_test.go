package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const fuzzSecret = "whsec_fuzz_0123456789abcdef"

// expectedV1 is the v1 signature of body at unix time ts under secret,
// computed here independently of stripe-go: HMAC-SHA256 of "ts.body".
func expectedV1(secret string, ts int64, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// checkRefusal fails unless err is a *BadSignatureError with a reason.
func checkRefusal(t *testing.T, what string, err error) {
	t.Helper()
	var bad *BadSignatureError
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	if !errors.As(err, &bad) || bad.Reason == "" {
		t.Fatalf("%s: error %#v is not a *BadSignatureError", what, err)
	}
}

// FuzzParseEventHeader sends arbitrary bodies and Stripe-Signature headers.
// ParseEvent never panics, refuses with a *BadSignatureError, and accepts
// only when the header's last t= is within WebhookTolerance of now (either
// way) and one of its v1= elements is the HMAC of exactly "t.body" under
// the secret, as computed here without stripe-go, for a body that is an
// event with an id and a type.
func FuzzParseEventHeader(f *testing.F) {
	now := time.Now()
	body := []byte(`{"id":"evt_1","type":"payment_intent.succeeded","object":"event"}`)
	valid := SignPayload(body, fuzzSecret, now)
	for _, h := range []string{valid, "", "t=", "v1=", "t=1,v1=00", ",", "=", "t=1=2,v1=ab", "t=abc,v1=ab",
		"t=" + strconv.FormatInt(now.Unix(), 10), valid + ",v1=zz", valid + ",v0=00", "v1=ab,t=1," + valid,
		strings.Replace(valid, "t=", "t=+", 1), strings.Replace(valid, "t=", "t=0", 1), strings.ToUpper(valid),
		"t=9223372036854775807,v1=00", "t=-9223372036854775808,v1=00", "t=99999999999999999999,v1=00"} {
		f.Add(body, h)
		f.Add([]byte("{}"), h)
		f.Add([]byte(`{"id":"evt_1","type":"x"`), h)
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		ev, err := ParseEvent(body, header, fuzzSecret)
		if err != nil {
			checkRefusal(t, fmt.Sprintf("ParseEvent(%q, %q)", body, header), err)
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("accepted an event without id or type: %q", body)
		}
		var ts int64
		var sigs [][]byte
		for _, pair := range strings.Split(header, ",") {
			k, v, _ := strings.Cut(pair, "=")
			switch k {
			case "t":
				ts, _ = strconv.ParseInt(v, 10, 64)
			case "v1":
				if s, err := hex.DecodeString(v); err == nil {
					sigs = append(sigs, s)
				}
			}
		}
		if d := time.Since(time.Unix(ts, 0)); d > WebhookTolerance+time.Minute || d < -WebhookTolerance-time.Minute {
			t.Fatalf("accepted a signature dated %s from now: %q", -d, header)
		}
		want := expectedV1(fuzzSecret, ts, body)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				return
			}
		}
		t.Fatalf("accepted header %q without a v1 signature of the body", header)
	})
}

// FuzzParseEventSigned signs a well-formed event at a fuzzed time and then
// changes one thing at a time. The untouched delivery is accepted exactly
// when its time is within WebhookTolerance of now (past or future); extra
// v1 signatures (Stripe sends two while a secret rolls) and unknown
// elements do no harm; and every change of the body, the timestamp, the
// signature, the scheme or the secret is refused.
func FuzzParseEventSigned(f *testing.F) {
	f.Add("evt_1", "payment_intent.succeeded", int64(0), uint(0), byte(1), int64(1), uint(0), byte(1))
	f.Add("evt_2", "charge.refunded", int64(-299), uint(5), byte(0x20), int64(-1), uint(31), byte(0x80))
	f.Add("evt_3", "account.updated", int64(-301), uint(1000), byte(0xff), int64(3600), uint(7), byte(0xff))
	f.Add("evt_4", "payment_intent.payment_failed", int64(299), uint(3), byte(2), int64(-86400), uint(1), byte(4))
	f.Add("evt_5", "x", int64(301), uint(9), byte(3), int64(1<<40), uint(2), byte(16))
	f.Add("evt_7", "payment_intent.succeeded", int64(600), uint(9), byte(3), int64(7), uint(2), byte(16))
	f.Add("", "x", int64(0), uint(9), byte(3), int64(7), uint(2), byte(16))
	f.Add("evt_6", "", int64(0), uint(9), byte(3), int64(7), uint(2), byte(16))
	f.Add("evt_\u00e9\"\\", "t\n", int64(-86400*365), uint(0), byte(0x7f), int64(1), uint(0), byte(1))
	f.Fuzz(func(t *testing.T, id, typ string, skew int64, bodyPos uint, bodyXor byte, tsDelta int64, sigPos uint, sigXor byte) {
		skew %= int64(4 * WebhookTolerance / time.Second) // seconds, within ±20 min
		body, err := json.Marshal(map[string]any{"id": id, "type": typ, "object": "event", "data": map[string]any{"object": map[string]any{}}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		at := now.Add(time.Duration(skew) * time.Second)
		header := SignPayload(body, fuzzSecret, at)
		sig := expectedV1(fuzzSecret, at.Unix(), body)
		if header != fmt.Sprintf("t=%d,v1=%x", at.Unix(), sig) {
			t.Fatalf("SignPayload = %q, want the HMAC computed here", header)
		}

		_, err = ParseEvent(body, header, fuzzSecret)
		margin := int64(5) // seconds around the edge, where the clock may have moved on
		abs := max(skew, -skew)
		within := abs < int64(WebhookTolerance/time.Second)-margin
		outside := abs > int64(WebhookTolerance/time.Second)+margin
		switch {
		case within && id != "" && typ != "":
			if err != nil {
				t.Fatalf("a valid delivery signed %ds from now was refused: %v", skew, err)
			}
		case within || outside:
			checkRefusal(t, fmt.Sprintf("signed %ds from now, id %q, type %q", skew, id, typ), err)
		}
		if !within || id == "" || typ == "" {
			return
		}
		// Harmless additions: a second v1 (a rolled secret) and unknown elements.
		for _, h := range []string{header + ",v1=" + strings.Repeat("0", 64), "v1=zz," + header, header + ",v0=00,foo=bar"} {
			if _, err := ParseEvent(body, h, fuzzSecret); err != nil {
				t.Fatalf("header %q: %v", h, err)
			}
		}
		// Any change of one byte of the body.
		if bodyXor != 0 {
			changed := []byte(string(body))
			changed[bodyPos%uint(len(changed))] ^= bodyXor
			_, err := ParseEvent(changed, header, fuzzSecret)
			checkRefusal(t, fmt.Sprintf("body changed to %q", changed), err)
		}
		// The body with something added or cut off.
		_, err = ParseEvent(append([]byte(string(body)), ' '), header, fuzzSecret)
		checkRefusal(t, "body with a space added", err)
		_, err = ParseEvent(body[:len(body)-1], header, fuzzSecret)
		checkRefusal(t, "body cut short", err)
		// Another timestamp with the same signature.
		if tsDelta != 0 {
			h := fmt.Sprintf("t=%d,v1=%x", at.Unix()+tsDelta, sig)
			_, err := ParseEvent(body, h, fuzzSecret)
			checkRefusal(t, "timestamp moved by "+strconv.FormatInt(tsDelta, 10), err)
		}
		// A signature with one byte changed.
		if sigXor != 0 {
			bad := append([]byte(nil), sig...)
			bad[sigPos%uint(len(bad))] ^= sigXor
			_, err := ParseEvent(body, fmt.Sprintf("t=%d,v1=%x", at.Unix(), bad), fuzzSecret)
			checkRefusal(t, "signature changed", err)
		}
		// A signature cut short, or under another scheme only.
		_, err = ParseEvent(body, fmt.Sprintf("t=%d,v1=%x", at.Unix(), sig[:len(sig)-1]), fuzzSecret)
		checkRefusal(t, "signature cut short", err)
		_, err = ParseEvent(body, fmt.Sprintf("t=%d,v0=%x", at.Unix(), sig), fuzzSecret)
		checkRefusal(t, "v0 scheme", err)
		_, err = ParseEvent(body, fmt.Sprintf("v1=%x", sig), fuzzSecret)
		checkRefusal(t, "no timestamp", err)
		// Signed with another secret.
		_, err = ParseEvent(body, SignPayload(body, fuzzSecret+"x", at), fuzzSecret)
		checkRefusal(t, "another secret", err)
	})
}
