// Package feed reads marketplace product feeds, such as the ones vendors
// export for Letzshop, for the catalog import. It parses only: no
// database, no network.
//
// # Format
//
// A feed is a text file with one header line and one product per row, in
// the columns of Google Shopping: id, title, description, link, image_link,
// additional_image_link (several links separated by commas), availability,
// price, sale_price, brand, gtin, mpn, condition, google_product_category,
// product_type, item_group_id, color, size. Other columns are kept, by
// name, in Item.Attributes.
//
//   - Separator: tab or comma, whichever the header line uses (a tab wins).
//   - Encoding: UTF-8, with or without a byte-order mark. UTF-16, gzip, ZIP
//     (spreadsheets), HTML, XML, JSON and binary files are refused.
//   - Lines end in LF or CRLF. A field in double quotes may hold the
//     separator, line breaks and quotes written twice ("say ""hi""");
//     fields are split by encoding/csv.
//   - Headers match in any case, with or without a "g:" prefix and
//     surrounding spaces, and with spaces for underscores: " G:Image Link"
//     is image_link. A header may not name a column twice.
//   - Values are trimmed. Blank rows are skipped.
//   - Prices are an amount and an ISO 4217 code, "13.90 EUR", "13,90 EUR",
//     "EUR 13.90", "1.234,56 EUR", and become integer minor units with the
//     currency's own decimal places (see ParsePrice).
//   - availability is normalised ("in stock", "in_stock", "In Stock" are
//     InStock), as is condition.
//
// # Errors
//
// There are two levels. NewReader refuses an input that is not a feed at
// all (empty, binary, HTML, no known column, no id column) with an error
// wrapping ErrNotAFeed that says why. Once reading, a problem with one row
// never stops the reader: Next returns the row's Item with its problems in
// Item.Errors, each a *RowError with the line where the row starts, the
// column, a Kind and a message for the vendor ("line 36: price \"12.345
// EUR\": ..."); a field with a problem is left empty. The kinds: wrong
// number of columns, bad quoting, missing or duplicate id (the later row is
// the duplicate), missing or bad price, bad sale price or one not below the
// price, bad GTIN check digit, a value too long (limits in characters:
// MaxIDLen, MaxTitleLen, ...), bad availability or condition, a link that
// is not http(s), and text that is not UTF-8 or holds control characters.
// Only a failing input or a row longer than Options.MaxRecordBytes (an
// unclosed quote) ends the feed early, with an error other than io.EOF.
//
// Line numbers count the lines of the file, starting at 1 with the header;
// a row whose quoted fields span several lines has the number of its first.
//
// The reader streams: it holds one row at a time, plus the ids seen so far
// to find duplicates. A header-only feed has no rows; whether that means
// "the vendor sells nothing" is the caller's decision.
//
// Merge joins the same feed in several languages (one file per language)
// on id into items that carry their Translations.
package feed
