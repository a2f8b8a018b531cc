package feed

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText counts the characters of a field, tells whether it has a tab
// or a line break, and says what is wrong with it: "" when it is valid
// UTF-8 without control characters other than tab and line breaks. It
// runs on every field, so printable ASCII goes eight bytes at a time.
func checkText(s string) (n int, breaks bool, problem string) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	extra := 0 // bytes beyond the first of multi-byte characters
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			c := s[i : i+8]
			w := uint64(c[0]) | uint64(c[1])<<8 | uint64(c[2])<<16 | uint64(c[3])<<24 |
				uint64(c[4])<<32 | uint64(c[5])<<40 | uint64(c[6])<<48 | uint64(c[7])<<56
			// A high bit is set where a byte is ≥ 0x80, 0x7f (+1) or
			// < 0x20 (-0x20); carries and borrows only start at such bytes.
			if (w|(w+ones)|(w-0x20*ones))&highs == 0 {
				i += 8
				continue
			}
		}
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '\t' || b == '\n' || b == '\r':
				breaks = true
			case b < 0x20 || b == 0x7f:
				return 0, breaks, fmt.Sprintf("control character U+%04X at byte %d", b, i+1)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, breaks, fmt.Sprintf("not valid UTF-8 at byte %d (is the file in another encoding, such as Latin-1?)", i+1)
		}
		i += size
		extra += size - 1
	}
	return len(s) - extra, breaks, ""
}

// checkLink returns v if it is a good link, else "" with a row error.
// breaks is checkText's: v has a tab or a line break.
func checkLink(it *Item, column, v string, breaks bool) string {
	if problem := checkURL(v, breaks); problem != "" {
		it.fail(KindBadURL, column, nil, "%s %q %s", column, short(v), problem)
		return ""
	}
	return v
}

// checkLinks reads the comma-separated links of additional_image_link,
// nil with a row error if one is bad.
func checkLinks(it *Item, column, v string, breaks bool) []string {
	links := make([]string, 0, strings.Count(v, ",")+1)
	for rest := v; rest != ""; {
		part, tail, _ := strings.Cut(rest, ",")
		rest = tail
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(part) > MaxURLLen { // characters ≤ bytes: count only when over
			if n := utf8.RuneCountInString(part); n > MaxURLLen {
				it.fail(KindTooLong, column, nil, "%s has a link of %d characters, at most %d", column, n, MaxURLLen)
				return nil
			}
		}
		if problem := checkURL(part, breaks && strings.ContainsAny(part, "\t\r\n")); problem != "" {
			it.fail(KindBadURL, column, nil, "%s %q %s", column, short(part), problem)
			return nil
		}
		if len(links) == MaxAdditionalImgs {
			it.fail(KindTooLong, column, nil, "%s has more than %d links", column, MaxAdditionalImgs)
			return nil
		}
		links = append(links, part)
	}
	if len(links) == 0 {
		return nil
	}
	return links
}

// checkURL says what is wrong with a link, "" when it is an http or https
// URL with a host and no spaces. breaks: the link has a tab or a line
// break.
func checkURL(v string, breaks bool) string {
	var rest string
	switch {
	case len(v) >= 8 && strings.EqualFold(v[:8], "https://"):
		rest = v[8:]
	case len(v) >= 7 && strings.EqualFold(v[:7], "http://"):
		rest = v[7:]
	default:
		return "is not an http or https link"
	}
	if breaks || strings.IndexByte(v, ' ') >= 0 {
		return "has spaces in it"
	}
	if rest == "" || rest[0] == '/' || rest[0] == '?' || rest[0] == '#' {
		return "has no host"
	}
	return ""
}
