package media

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF for DecodeConfig and Decode
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	_ "golang.org/x/image/webp" // registers WebP

	"github.com/storefleet/storefleet/internal/web"
)

// Upload limits.
const (
	// MaxBytes is the largest file accepted.
	MaxBytes = 10 << 20
	// MaxPixels is the largest image accepted, in pixels (width × height),
	// checked from the header before anything is decoded.
	MaxPixels = 40_000_000
	// maxNameRunes bounds the display name kept from an upload.
	maxNameRunes = 200
)

// format is an accepted image type.
type format struct {
	label       string   // for people
	contentType string   // what is stored and served
	ext         string   // of the object key
	exts        []string // file name extensions that fit it
}

// formats are the accepted types, by image.DecodeConfig's format name.
var formats = map[string]format{
	"jpeg": {"JPEG", "image/jpeg", "jpg", []string{".jpg", ".jpeg", ".jpe", ".jfif"}},
	"png":  {"PNG", "image/png", "png", []string{".png"}},
	"gif":  {"GIF", "image/gif", "gif", []string{".gif"}},
	"webp": {"WebP", "image/webp", "webp", []string{".webp"}},
}

// knownExts are extensions that say what a file is; a name with one of
// these must match the content. Other extensions ("holiday.2024") are not
// taken as a claim about the content.
var knownExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".gif": true, ".webp": true,
	".svg": true, ".svgz": true, ".bmp": true, ".tif": true, ".tiff": true, ".ico": true, ".heic": true, ".heif": true,
	".avif": true, ".txt": true, ".html": true, ".htm": true, ".xhtml": true, ".xml": true, ".json": true, ".js": true,
	".css": true, ".pdf": true, ".zip": true, ".exe": true, ".php": true, ".sh": true, ".csv": true, ".doc": true, ".docx": true,
}

// Checked is an upload that passed every check.
type Checked struct {
	Name        string // display name, cleaned
	ContentType string
	Ext         string // of the object key, without the dot
	Width       int
	Height      int
}

// fileError is a 4xx about the uploaded file, shown next to the file field.
func fileError(status int, format string, args ...any) error {
	return &web.Error{Status: status, Field: "file", Message: fmt.Sprintf(format, args...)}
}

// Check decides whether data, uploaded under name, is an image the shop
// may keep. The type comes from the content (http.DetectContentType, then
// the image header), never from the name or the client's Content-Type;
// SVG is refused outright (it can carry scripts); the pixel count is
// checked from the header before any decoding. Errors are *web.Error
// with Field "file" and a message for people.
func Check(name string, data []byte) (*Checked, error) { return check(name, data, false) }

// check is Check; with rename, a name whose extension does not fit the
// content gets the content's.
func check(name string, data []byte, rename bool) (*Checked, error) {
	display, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fileError(http.StatusUnprocessableEntity, "The file %q is empty.", display)
	}
	if len(data) > MaxBytes {
		return nil, fileError(http.StatusRequestEntityTooLarge, "The file is %s; the most is %s. Make it smaller and upload it again.",
			HumanBytes(int64(len(data))), HumanBytes(MaxBytes))
	}
	ext := strings.ToLower(path.Ext(display))
	sniffed := http.DetectContentType(data)
	if ext == ".svg" || ext == ".svgz" || looksLikeSVG(data) {
		return nil, fileError(http.StatusUnsupportedMediaType,
			"SVG images are not accepted: they can carry scripts. Export the image as PNG or WebP and upload that.")
	}
	var f format
	var ok bool
	for _, cand := range formats {
		if cand.contentType == sniffed {
			f, ok = cand, true
		}
	}
	if !ok {
		what := "is not a JPEG, PNG, GIF or WebP image"
		if knownExts[ext] {
			what = fmt.Sprintf("is named %s but is not a JPEG, PNG, GIF or WebP image", ext)
		}
		return nil, fileError(http.StatusUnsupportedMediaType, "The file %q %s (its content looks like %s).",
			display, what, strings.TrimSuffix(sniffed, "; charset=utf-8"))
	}
	cfg, decoded, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || formats[decoded].contentType != f.contentType {
		return nil, fileError(http.StatusUnsupportedMediaType, "The %s image %q cannot be read: it may be damaged or cut short.", f.label, display)
	}
	if knownExts[ext] && !contains(f.exts, ext) {
		if !rename {
			return nil, fileError(http.StatusUnsupportedMediaType,
				"The file %q is named %s but its content is a %s image. Rename it to .%s and upload it again.", display, ext, f.label, f.ext)
		}
		display, _ = CleanName(strings.TrimSuffix(display, path.Ext(display)) + "." + f.ext) // at most 200 characters again
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fileError(http.StatusUnprocessableEntity, "The image %q has no pixels.", display)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return nil, fileError(http.StatusUnprocessableEntity,
			"The image is %d × %d pixels (%d megapixels); the most is %d megapixels. Scale it down and upload it again.",
			cfg.Width, cfg.Height, px/1_000_000, MaxPixels/1_000_000)
	}
	c := &Checked{Name: display, ContentType: f.contentType, Ext: f.ext, Width: cfg.Width, Height: cfg.Height}
	if f.contentType == "image/jpeg" && jpegOrientation(data) >= 5 {
		c.Width, c.Height = c.Height, c.Width // as shown, turned
	}
	return c, nil
}

// CheckFetched is Check for an image fetched from a link and named after
// the link's last path element: the content is held to every rule of an
// upload, but a name whose extension says another type is given the
// content's extension rather than refused, since servers often send
// another type than the link names (WebP for photo.jpg, a PNG from
// image.php) and nobody can rename the file first.
func CheckFetched(name string, data []byte) (*Checked, error) { return check(name, data, true) }

// looksLikeSVG reports whether the start of data is SVG or other XML.
func looksLikeSVG(data []byte) bool {
	head := data[:min(len(data), 1024)]
	return bytes.Contains(bytes.ToLower(head), []byte("<svg")) || strings.HasPrefix(http.DetectContentType(data), "text/xml")
}

// AllowedType reports whether ct is the content type of an accepted
// image: the only types stored, and so the only types served.
func AllowedType(ct string) bool {
	for _, f := range formats {
		if f.contentType == ct {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CleanName turns an uploaded file's name into a display name: the last
// path element, without control or formatting characters (bidi
// overrides, zero-width characters), with runs of white space made one
// space, at most 200 characters. A name that climbs out of a folder
// ("../x.png") is refused. Display names are never used in object keys.
func CleanName(name string) (string, error) {
	name = strings.ToValidUTF8(name, "\uFFFD")
	for _, seg := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if strings.TrimSpace(seg) == ".." {
			return "", fileError(http.StatusUnprocessableEntity,
				"The file name %q contains a path (../). Rename the file to a plain name and upload it again.", printable(name))
		}
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) > maxNameRunes {
		ext := path.Ext(out)
		if utf8.RuneCountInString(ext) > 10 {
			ext = ""
		}
		runes := []rune(strings.TrimSuffix(out, ext))
		out = string(runes[:maxNameRunes-utf8.RuneCountInString(ext)]) + ext
	}
	if out == "" || out == "." {
		out = "image"
	}
	return out, nil
}

// printable shows a name in a message without its control characters.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

// HumanBytes writes a byte count for people ("2.4 MiB").
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
