package domains

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
)

// Resolver looks up TXT records. The control plane uses NetResolver;
// tests give MemoryResolver, since they cannot publish records in public
// DNS.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NetResolver looks records up in DNS through a net.Resolver (nil: the
// system's resolver, as configured in /etc/resolv.conf).
type NetResolver struct {
	Resolver *net.Resolver
}

// LookupTXT returns the TXT records of name.
func (n NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r := n.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupTXT(ctx, name)
}

// MemoryResolver is an in-process resolver that answers from records set
// with SetTXT, and never touches DNS. It stands in for DNS in tests.
type MemoryResolver struct {
	mu      sync.Mutex
	records map[string][]string
	lookups int
}

// NewMemoryResolver returns an empty MemoryResolver.
func NewMemoryResolver() *MemoryResolver {
	return &MemoryResolver{records: map[string][]string{}}
}

// SetTXT publishes TXT records for name (replacing any); no values
// removes the name.
func (m *MemoryResolver) SetTXT(name string, values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if len(values) == 0 {
		delete(m.records, name)
		return
	}
	m.records[name] = append([]string(nil), values...)
}

// Lookups is how many lookups were made.
func (m *MemoryResolver) Lookups() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups
}

// LookupTXT answers like a resolver would: the records, or a "no such
// host" DNS error.
func (m *MemoryResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	v, ok := m.records[strings.ToLower(strings.TrimSuffix(name, "."))]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return append([]string(nil), v...), nil
}

// lookupMessage says why a lookup found no record, for people.
func lookupMessage(name string, err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsNotFound:
			return "No TXT record found at " + name + "."
		case dnsErr.IsTimeout:
			return "The DNS lookup of " + name + " timed out; we will try again."
		}
		return "The DNS lookup of " + name + " failed (" + dnsErr.Err + "); we will try again."
	}
	return "The DNS lookup of " + name + " failed; we will try again."
}
