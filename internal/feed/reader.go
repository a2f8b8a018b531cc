package feed

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/gtin"
	"github.com/storefleet/storefleet/internal/money"
)

// MaxColumns bounds the columns of a feed: each column of a row is kept
// (unknown ones as attributes), so a header of thousands of columns would
// make every row that many values.
const MaxColumns = 200

// ErrNotAFeed means the input is not a product feed the reader can read:
// empty, binary, HTML, or a header without the columns of a feed. Errors
// from NewReader wrap it with the reason.
var ErrNotAFeed = errors.New("not a product feed")

// errRecordTooLong stops a row that grows past Options.MaxRecordBytes.
var errRecordTooLong = errors.New("row too long")

// Format is the separator of a feed, detected from its header line.
type Format int

// The formats.
const (
	TSV Format = iota + 1 // tab-separated
	CSV                   // comma-separated
)

func (f Format) String() string {
	switch f {
	case TSV:
		return "tab-separated"
	case CSV:
		return "comma-separated"
	}
	return "unknown"
}

// DefaultMaxRecordBytes is the default of Options.MaxRecordBytes.
const DefaultMaxRecordBytes = 1 << 20

// headSize is the read buffer, and how far NewReader looks for the header.
const headSize = 64 << 10

// Options change how a feed is read. The zero value is fine.
type Options struct {
	// Language is the language of the feed's text ("en", "fr", "de"),
	// copied to each Item for Merge. Optional.
	Language string
	// DefaultCurrency is the currency of prices written without a code
	// ("13.90"). Empty: such prices are row errors.
	DefaultCurrency string
	// LazyQuotes reads a quote inside a field that does not start with one
	// ("27\" screen") as a plain character instead of a row error. The
	// price: a field that starts with a quote it never closes properly
	// runs on into the next rows.
	LazyQuotes bool
	// MaxRecordBytes bounds one row, quoted line breaks included: a longer
	// one (an unclosed quote, a file with no line breaks) stops the reader
	// with an error instead of filling memory. 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// Reader reads the items of a feed one row at a time.
type Reader struct {
	csv    *csv.Reader
	src    *boundedReader
	format Format
	header []string // as written
	cols   []column
	names  []string // normalised headers
	idCol  int
	opts   Options
	// seen maps the 128-bit digest of each id to the line of its first
	// row: a million ids cost about 30 MB instead of 80 (the ids
	// themselves are not kept), and two different ids share a digest with
	// a chance of about 1 in 10^27 in such a feed.
	seen  map[idDigest]int32
	seeds [2]maphash.Seed
	line  int   // where the last row started
	err   error // sticky: io.EOF or what stopped the reader
}

// NewReader checks that in starts like a feed (a header line naming an id
// column, tab- or comma-separated, UTF-8 with or without a byte-order mark)
// and returns a Reader positioned on the first row. An input that is not a
// feed gives an error wrapping ErrNotAFeed; a header-only feed is a feed
// with no rows.
func NewReader(in io.Reader, opts Options) (*Reader, error) {
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	opts.Language = strings.ToLower(strings.TrimSpace(opts.Language))
	if opts.DefaultCurrency != "" {
		opts.DefaultCurrency = strings.ToUpper(strings.TrimSpace(opts.DefaultCurrency))
		if err := money.ValidCurrency(opts.DefaultCurrency); err != nil {
			return nil, fmt.Errorf("feed: default currency: %w", err)
		}
	}
	// The bound counts what the buffer pulls in since the current row
	// began, so it allows for one buffer of read-ahead.
	src := &boundedReader{r: in, max: int64(opts.MaxRecordBytes) + headSize}
	br := bufio.NewReaderSize(src, headSize)
	head, err := peekHeader(br)
	if err != nil {
		return nil, fmt.Errorf("feed: reading the header: %w", err)
	}
	if bytes.HasPrefix(head, bom) {
		_, _ = br.Discard(len(bom)) // buffered already: cannot fail
		head = head[len(bom):]
	}
	format, err := sniff(head)
	if err != nil {
		return nil, err
	}
	r := &Reader{src: src, format: format, idCol: -1, opts: opts, seen: map[idDigest]int32{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	r.csv = csv.NewReader(br) // uses br as it is: the peeked bytes stay
	if format == TSV {
		r.csv.Comma = '\t'
	}
	r.csv.FieldsPerRecord = -1 // Next checks the count itself and carries on
	r.csv.LazyQuotes = opts.LazyQuotes
	r.csv.ReuseRecord = true
	header, err := r.csv.Read()
	switch {
	case err == io.EOF:
		return nil, fmt.Errorf("%w: the file is empty", ErrNotAFeed)
	case isParseError(err):
		return nil, fmt.Errorf("%w: the header line cannot be read: %v", ErrNotAFeed, err)
	case err != nil:
		return nil, fmt.Errorf("feed: reading the header: %w", err)
	}
	if err := r.setHeader(header); err != nil {
		return nil, err
	}
	r.line, _ = r.csv.FieldPos(0)
	return r, nil
}

var bom = []byte("\xef\xbb\xbf")

// peekHeader returns the buffered start of the input, reading until it
// holds the first line that is not empty, the buffer is full, or the
// input ends. It reads no more than it must, so that a feed arriving
// slowly is not waited for.
func peekHeader(br *bufio.Reader) ([]byte, error) {
	for {
		head, _ := br.Peek(br.Buffered())
		if len(head) >= headSize || hasLine(head) {
			return head, nil
		}
		if _, err := br.Peek(len(head) + 1); err == io.EOF {
			head, _ = br.Peek(br.Buffered())
			return head, nil
		} else if err != nil {
			return nil, err
		}
	}
}

// hasLine reports whether the start of the input holds a whole line that
// is not empty.
func hasLine(head []byte) bool {
	return bytes.IndexByte(skipEmptyLines(bytes.TrimPrefix(head, bom)), '\n') >= 0
}

// skipEmptyLines drops leading empty lines, as encoding/csv does.
func skipEmptyLines(b []byte) []byte {
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		default:
			return b
		}
	}
}

// sniff looks at the start of the input, up to its first line, and finds
// the separator.
func sniff(head []byte) (Format, error) {
	notFeed := func(reason string) (Format, error) { return 0, fmt.Errorf("%w: %s", ErrNotAFeed, reason) }
	switch {
	case len(bytes.TrimSpace(head)) == 0:
		return notFeed("the file is empty")
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}), bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return notFeed("the file is UTF-16 text; save it as UTF-8")
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return notFeed("the file is gzip-compressed; unpack it first")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return notFeed("the file is a ZIP archive (or a spreadsheet); export it as tab- or comma-separated text")
	}
	// Only the header line is looked at: what follows is the rows', and a
	// bad byte in a row is that row's problem.
	line, _, found := bytes.Cut(skipEmptyLines(head), []byte("\n"))
	if !found && len(head) >= headSize-len(bom) {
		return notFeed(fmt.Sprintf("no line break in the first %d KiB, so no header line", headSize>>10))
	}
	line = bytes.TrimSpace(line)
	switch {
	case bytes.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }):
		return notFeed("the file holds binary data, not text")
	case !utf8.Valid(line):
		return notFeed("the header line is not UTF-8 text (a binary file, or another encoding such as Latin-1)")
	case bytes.HasPrefix(line, []byte("<")):
		return notFeed("the file looks like HTML or XML, not a tab- or comma-separated feed")
	case bytes.HasPrefix(line, []byte("{")), bytes.HasPrefix(line, []byte("[")):
		return notFeed("the file looks like JSON, not a tab- or comma-separated feed")
	case bytes.IndexByte(line, '\t') >= 0:
		return TSV, nil
	}
	return CSV, nil
}

func (r *Reader) setHeader(header []string) error {
	if len(header) > MaxColumns {
		return fmt.Errorf("%w: the header has %d columns, at most %d are read", ErrNotAFeed, len(header), MaxColumns)
	}
	r.header = append([]string(nil), header...) // ReuseRecord: the slice is reused
	r.cols = make([]column, len(header))
	r.names = make([]string, len(header))
	where := map[string]int{}
	known := 0
	for i, h := range header {
		name := normalizeHeader(h)
		r.names[i] = name
		if name == "" {
			r.cols[i] = colIgnored
			continue
		}
		if j, dup := where[name]; dup {
			return fmt.Errorf("%w: the header names the column %q twice (columns %d and %d)", ErrNotAFeed, name, j+1, i+1)
		}
		where[name] = i
		if c, ok := knownColumns[name]; ok {
			r.cols[i] = c
			known++
			if c == colID {
				r.idCol = i
			}
		}
	}
	if known == 0 {
		shown := r.header
		if len(shown) > 5 {
			shown = shown[:5]
		}
		return fmt.Errorf("%w: the header line has none of the columns of a feed (id, title, price, ...); it starts %q", ErrNotAFeed, shown)
	}
	if r.idCol < 0 {
		return fmt.Errorf("%w: the header has no id column", ErrNotAFeed)
	}
	return nil
}

// Format returns the separator found in the header line.
func (r *Reader) Format() Format { return r.format }

// Header returns the header line's columns as written.
func (r *Reader) Header() []string { return append([]string(nil), r.header...) }

// Next returns the next row as an Item, with the row's problems in
// Item.Errors, or io.EOF after the last row. Any other error (reading the
// input failed, a row longer than Options.MaxRecordBytes) ends the feed:
// Next returns the same error from then on. Blank rows are skipped.
func (r *Reader) Next() (*Item, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		r.src.n = 0
		rec, err := r.csv.Read()
		switch {
		case err == nil:
		case err == io.EOF:
			r.err = io.EOF
			return nil, r.err
		case isParseError(err):
			r.line = err.(*csv.ParseError).StartLine
			return r.badQuoting(rec, err.(*csv.ParseError)), nil
		default:
			where := fmt.Sprintf("after line %d", r.line)
			if len(rec) > 0 {
				line, _ := r.csv.FieldPos(0)
				where = fmt.Sprintf("line %d", line)
			}
			if errors.Is(err, errRecordTooLong) {
				r.err = fmt.Errorf("feed: %s: a row longer than %d bytes (a quote that is never closed?): the rest of the feed cannot be read", where, r.opts.MaxRecordBytes)
			} else {
				r.err = fmt.Errorf("feed: reading the row at %s: %w", where, err)
			}
			return nil, r.err
		}
		if blank(rec) {
			continue
		}
		r.line, _ = r.csv.FieldPos(0)
		return r.item(rec, r.line), nil
	}
}

// isParseError reports whether encoding/csv could not split a row (it
// carries on with the next line).
func isParseError(err error) bool {
	_, ok := err.(*csv.ParseError)
	return ok
}

// blank reports whether every field of a row is empty or spaces, as the
// trailing ",,,," rows spreadsheets write.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// badQuoting makes the item of a row encoding/csv could not split.
func (r *Reader) badQuoting(rec []string, pe *csv.ParseError) *Item {
	it := &Item{Line: pe.StartLine, Language: r.opts.Language}
	if r.idCol < len(rec) {
		it.ID = strings.TrimSpace(rec[r.idCol]) // for the message only: not checked
	}
	where := ""
	if pe.Line != pe.StartLine {
		where = fmt.Sprintf(" (at line %d)", pe.Line)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		it.fail(KindQuoting, "", pe, "a quote inside a field that does not start with one%s: put the whole field in quotes and double the quote inside", where)
	default:
		it.fail(KindQuoting, "", pe, "a quoted field is not closed properly%s: inside quotes a quote is written twice, and the closing quote is followed by the separator or the end of the line", where)
	}
	return it
}

// item reads the fields of one row.
func (r *Reader) item(rec []string, line int) *Item {
	it := &Item{Line: line, Language: r.opts.Language}
	if len(rec) != len(r.cols) {
		if r.idCol < len(rec) {
			it.ID = strings.TrimSpace(rec[r.idCol]) // for the message only: not checked
		}
		it.fail(KindColumnCount, "", nil, "the row has %d columns, the header %d (a separator too many or too few?)", len(rec), len(r.cols))
		return it
	}
	var idGiven bool
	var priceText, saleText string
	for i, v := range rec {
		c := r.cols[i]
		if c == colIgnored {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		name := r.names[i]
		// Values with a grammar of their own are parsed as they are:
		// their parsers refuse what is not ASCII.
		switch c {
		case colPrice:
			priceText = v
			continue
		case colSalePrice:
			saleText = v
			continue
		case colAvailability:
			if a, ok := ParseAvailability(v); ok {
				it.Availability = a
			} else {
				it.fail(KindBadAvailability, name, nil, "availability %q is not one of in stock, out of stock, preorder, backorder", short(v))
			}
			continue
		case colCondition:
			if cond, ok := ParseCondition(v); ok {
				it.Condition = cond
			} else {
				it.fail(KindBadCondition, name, nil, "condition %q is not one of new, refurbished, used", short(v))
			}
			continue
		case colGTIN:
			g := v
			if !digitsOnly(v) {
				g = gtin.Normalize(v) // spaces and hyphens as copied from a label
			}
			if err := gtin.Check(g); err != nil {
				it.fail(KindBadGTIN, name, err, "GTIN %q: %v", short(v), err)
			} else {
				it.GTIN = g
			}
			continue
		case colID:
			idGiven = true
		}
		n, breaks, problem := checkText(v)
		if problem != "" {
			it.fail(KindBadText, name, nil, "%s: %s", name, problem)
			continue
		}
		if limit := maxLen(c); n > limit {
			it.fail(KindTooLong, name, nil, "%s is too long: %d characters, at most %d", name, n, limit)
			continue
		}
		switch c {
		case colID:
			if breaks {
				it.fail(KindBadText, name, nil, "id %q has a line break or a tab", short(v))
				continue
			}
			it.ID = v
		case colTitle:
			it.Title = v
		case colDescription:
			it.Description = v
		case colLink:
			it.Link = checkLink(it, name, v, breaks)
		case colImageLink:
			it.ImageLink = checkLink(it, name, v, breaks)
		case colAdditionalImageLink:
			it.AdditionalImageLinks = checkLinks(it, name, v, breaks)
		case colBrand:
			it.Brand = v
		case colMPN:
			it.MPN = v
		case colGoogleProductCategory:
			it.GoogleProductCategory = v
		case colProductType:
			it.ProductType = v
		case colItemGroupID:
			it.ItemGroupID = v
		case colColor:
			it.Color = v
		case colSize:
			it.Size = v
		case colAttribute:
			if it.Attributes == nil {
				it.Attributes = map[string]string{}
			}
			it.Attributes[name] = v
		}
	}
	r.checkID(it, idGiven)
	r.prices(it, priceText, saleText)
	return it
}

// checkID reports a missing id and an id seen on an earlier row.
func (r *Reader) checkID(it *Item, given bool) {
	if it.ID == "" {
		if !given { // else the id's own problem is reported already
			it.fail(KindMissingID, "id", nil, "the row has no id")
		}
		return
	}
	d := idDigest{maphash.String(r.seeds[0], it.ID), maphash.String(r.seeds[1], it.ID)}
	if first, dup := r.seen[d]; dup {
		it.fail(KindDuplicateID, "id", nil, "id %q is already on line %d", short(it.ID), first)
		return
	}
	r.seen[d] = int32(min(it.Line, math.MaxInt32))
}

// idDigest is the digest of an id, two 64-bit hashes under independent
// seeds.
type idDigest [2]uint64

// prices reads the price and the sale price, and compares them.
func (r *Reader) prices(it *Item, priceText, saleText string) {
	if priceText == "" {
		it.fail(KindMissingPrice, "price", nil, "the row has no price")
	} else if p, err := ParsePrice(priceText, r.opts.DefaultCurrency); err != nil {
		it.fail(KindBadPrice, "price", err, "price %q: %v", short(priceText), err)
	} else {
		it.Price = p
	}
	if saleText == "" {
		return
	}
	sale, err := ParsePrice(saleText, r.opts.DefaultCurrency)
	switch {
	case err != nil:
		it.fail(KindBadSalePrice, "sale_price", err, "sale price %q: %v", short(saleText), err)
	case it.Price.IsZero():
		it.SalePrice = &sale // nothing to compare it with
	case sale.Currency != it.Price.Currency:
		it.fail(KindBadSalePrice, "sale_price", nil, "sale price %s is not in the price's currency (%s)", sale, it.Price.Currency)
	case sale.Minor >= it.Price.Minor:
		it.fail(KindSaleNotBelowPrice, "sale_price", nil, "sale price %s is not below the price %s", sale, it.Price)
	default:
		it.SalePrice = &sale
	}
}

// short shortens a value quoted in a message.
func short(s string) string {
	const most = 60
	if utf8.RuneCountInString(s) <= most {
		return s
	}
	return string([]rune(s)[:most]) + "…"
}

// boundedReader counts the bytes read since n was last set to 0, and fails
// past max.
type boundedReader struct {
	r      io.Reader
	n, max int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.max {
		return 0, errRecordTooLong
	}
	if room := b.max - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}
