package redisstore

import (
	"encoding/json"
	"fmt"
	"time"
)

// Codec encodes scs session data as JSON, for the value types the
// services keep in sessions: int64, string and bool. It replaces scs's
// gob codec, which builds a new decoder (and compiles the types) for
// every request, a visible share of a signed-in page's CPU. A value of
// another type is refused when the session is saved, loudly, rather than
// coming back as something else.
type Codec struct{}

type wire struct {
	Deadline time.Time         `json:"d"`
	Ints     map[string]int64  `json:"i,omitempty"`
	Strings  map[string]string `json:"s,omitempty"`
	Bools    map[string]bool   `json:"b,omitempty"`
}

// Encode implements scs.Codec.
func (Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	w := wire{Deadline: deadline}
	for k, v := range values {
		switch v := v.(type) {
		case int64:
			if w.Ints == nil {
				w.Ints = map[string]int64{}
			}
			w.Ints[k] = v
		case string:
			if w.Strings == nil {
				w.Strings = map[string]string{}
			}
			w.Strings[k] = v
		case bool:
			if w.Bools == nil {
				w.Bools = map[string]bool{}
			}
			w.Bools[k] = v
		default:
			return nil, fmt.Errorf("session value %q is a %T: only int64, string and bool can be kept", k, v)
		}
	}
	return json.Marshal(w)
}

// Decode implements scs.Codec. A session it cannot read (one written by
// an older release's gob codec, or damaged) reads as empty and long
// expired: its holder is signed out and signs in again, rather than
// getting an error page until the session times out.
func (Codec) Decode(b []byte) (time.Time, map[string]any, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return time.Unix(0, 0), map[string]any{}, nil
	}
	values := make(map[string]any, len(w.Ints)+len(w.Strings)+len(w.Bools))
	for k, v := range w.Ints {
		values[k] = v
	}
	for k, v := range w.Strings {
		values[k] = v
	}
	for k, v := range w.Bools {
		values[k] = v
	}
	return w.Deadline, values, nil
}
