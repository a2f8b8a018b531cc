package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/web"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation puts an EXIF block with an orientation tag into a JPEG.
func withOrientation(t *testing.T, jpg []byte, o uint16) []byte {
	t.Helper()
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	_ = binary.Write(&tiff, binary.BigEndian, uint32(8))
	_ = binary.Write(&tiff, binary.BigEndian, uint16(1))           // one entry
	_ = binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3}) // orientation, SHORT
	_ = binary.Write(&tiff, binary.BigEndian, uint32(1))           // count
	_ = binary.Write(&tiff, binary.BigEndian, []uint16{o, 0})      // value
	_ = binary.Write(&tiff, binary.BigEndian, uint32(0))           // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestCheck(t *testing.T) {
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 40, 20)), nil)
	cases := []struct {
		name, file string
		data       []byte
		status     int    // 0: accepted
		want       string // in the message, or the accepted display name
	}{
		{"png", "Photo.PNG", pngOf(t, 10, 5), 0, "Photo.PNG"},
		{"no extension", "photo", pngOf(t, 10, 5), 0, "photo"},
		{"other extension", "holiday.2024", pngOf(t, 10, 5), 0, "holiday.2024"},
		{"jpeg as .jpeg", "a.jpeg", jpg.Bytes(), 0, "a.jpeg"},
		{"control characters", "a\x00b\x1b[31m\u200bc\u202e.png", pngOf(t, 1, 1), 0, "ab[31mc.png"},
		{"windows path", `C:\Users\me\cat.png`, pngOf(t, 1, 1), 0, "cat.png"},
		{"climbs out", "a/../../b.png", pngOf(t, 1, 1), 422, "contains a path"},
		{"svg", "x.svg", []byte("<svg/>"), 415, "SVG"},
		{"svg in text", "x.txt", []byte("  <SVG onload=alert(1)>"), 415, "SVG"},
		{"xml", "x", []byte(`<?xml version="1.0"?><a/>`), 415, "SVG"},
		{"text named gif", "x.gif", []byte("GIF? no."), 415, "is named .gif but is not"},
		{"png named jpg", "x.jpg", pngOf(t, 2, 2), 415, "its content is a PNG image"},
		{"png named txt", "x.txt", pngOf(t, 2, 2), 415, "its content is a PNG image"},
		{"cut short", "x.png", pngOf(t, 2, 2)[:20], 415, "cannot be read"},
		{"pixel bomb", "x.png", pngHeader(50000, 50000), 422, "2500 megapixels"},
		{"just over", "x.png", pngHeader(8000, 5001), 422, "the most is 40 megapixels"},
		{"at the limit", "x.png", pngHeader(8000, 5000), 0, "x.png"},
		{"too big", "x.png", append(pngOf(t, 2, 2), make([]byte, MaxBytes)...), 413, "the most is 10.0 MiB"},
		{"empty", "x.png", nil, 422, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(c.file, c.data)
			if c.status == 0 {
				if err != nil || got.Name != c.want {
					t.Fatalf("got %+v, %v; want %q accepted", got, err, c.want)
				}
				return
			}
			var we *web.Error
			if !errors.As(err, &we) || we.Status != c.status || we.Field != "file" || !strings.Contains(we.Message, c.want) {
				t.Fatalf("got %v, want %d with %q", err, c.status, c.want)
			}
		})
	}
}

// pngHeader is a PNG signature and IHDR claiming w×h (enough for DecodeConfig).
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc("IHDR", ihdr))
	return b.Bytes()
}

func crc(typ string, data []byte) uint32 {
	// CRC-32 (IEEE), as PNG chunks use.
	c := ^uint32(0)
	for _, x := range append([]byte(typ), data...) {
		c ^= uint32(x)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ 0xEDB88320
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

func TestNameIsNeverLong(t *testing.T) {
	n, err := CleanName(strings.Repeat("é", 500) + ".jpeg")
	if err != nil || len([]rune(n)) != 200 || !strings.HasSuffix(n, ".jpeg") {
		t.Fatalf("%q %v", n, err)
	}
}

func TestOrientation(t *testing.T) {
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 40, 20)), nil)
	turned := withOrientation(t, jpg.Bytes(), 6)
	if o := jpegOrientation(turned); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	if o := jpegOrientation(jpg.Bytes()); o != 1 {
		t.Fatalf("no EXIF: orientation %d", o)
	}
	c, err := Check("phone.jpg", turned)
	if err != nil || c.Width != 20 || c.Height != 40 {
		t.Fatalf("a turned photo is %+v, %v; want 20×40", c, err)
	}
	// A 3×2 image with a red top-left pixel, turned right: 2×3 with the
	// red pixel top-right.
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	out := orient(img, 6)
	if b := out.Bounds(); b.Dx() != 2 || b.Dy() != 3 {
		t.Fatalf("turned to %v", b)
	}
	if r, _, _, _ := out.At(1, 0).RGBA(); r != 0xffff {
		t.Error("the top-left pixel is not top-right after turning right")
	}
	if r, _, _, _ := orient(img, 8).At(0, 2).RGBA(); r != 0xffff {
		t.Error("the top-left pixel is not bottom-left after turning left")
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ w, h, size, ww, wh int }{
		{1200, 900, 800, 800, 600}, {900, 1200, 200, 150, 200}, {100, 50, 200, 100, 50}, {5000, 1, 200, 200, 1},
	} {
		b := fit(image.NewGray(image.Rect(0, 0, c.w, c.h)), c.size).Bounds()
		if b.Dx() != c.ww || b.Dy() != c.wh {
			t.Errorf("%d×%d in %d: %d×%d, want %d×%d", c.w, c.h, c.size, b.Dx(), b.Dy(), c.ww, c.wh)
		}
	}
}

func TestCheckFetched(t *testing.T) {
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 4, 4)), nil)
	for _, c := range []struct {
		name string
		data []byte
		want string // the name kept, or "" if refused
	}{
		{"shoe.jpg", jpg.Bytes(), "shoe.jpg"},
		{"shoe.JPEG", jpg.Bytes(), "shoe.JPEG"},
		{"shoe.jpg", pngOf(t, 2, 2), "shoe.png"}, // the server sent another type
		{"image.php", pngOf(t, 2, 2), "image.png"},
		{"shoe", pngOf(t, 2, 2), "shoe"},
		{strings.Repeat("a", 197) + ".js", pngOf(t, 2, 2), strings.Repeat("a", 196) + ".png"},
		{"logo.svg", pngOf(t, 2, 2), ""},
		{"logo.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ""},
		{"page.jpg", []byte("<!doctype html><p>hi"), ""},
		{"bomb.png", pngHeader(50000, 50000), ""},
	} {
		got, err := CheckFetched(c.name, c.data)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s: accepted as %+v", c.name, got)
		case c.want != "" && (err != nil || got.Name != c.want):
			t.Errorf("%s: %+v %v, want %q", c.name, got, err, c.want)
		}
	}
	// An upload is still refused for a name that does not fit.
	if _, err := Check("shoe.jpg", pngOf(t, 2, 2)); err == nil {
		t.Error("Check accepted a PNG named .jpg")
	}
}
