package feed

import (
	"fmt"
	"strings"
)

// LanguageFeed is the items of one feed in one language.
type LanguageFeed struct {
	Language string // "en", "fr", "de"
	Items    []*Item
}

// MergeError is a problem found while merging: an id of a translation
// that is not in the base feed, or a base item with no translation.
type MergeError struct {
	Language string // the feed the problem is about
	Line     int    // line in that feed's file, 0 for the whole feed
	ID       string
	Msg      string
}

func (e *MergeError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s feed: %s", e.Language, e.Msg)
	}
	return fmt.Sprintf("%s feed, line %d: %s", e.Language, e.Line, e.Msg)
}

// Merge joins the same feed in several languages on id: each item of base
// gets Translations with its own title and description under
// base.Language, and those of the item with the same id in each of
// others under that feed's language. Everything else comes from base.
// Items without an id or marked as duplicates are left out of the
// matching; items with other row errors still take part (their text
// fields are good or empty). The problems returned are ids of a
// translation missing from base, base items missing from a translation,
// and misnamed feeds; none stops the merge.
func Merge(base LanguageFeed, others ...LanguageFeed) []*MergeError {
	var problems []*MergeError
	baseLang := strings.ToLower(strings.TrimSpace(base.Language))
	if baseLang == "" {
		return append(problems, &MergeError{Msg: "the base feed has no language"})
	}
	byID := make(map[string]*Item, len(base.Items))
	for _, it := range base.Items {
		if !matchable(it) {
			continue
		}
		if _, dup := byID[it.ID]; dup {
			continue
		}
		byID[it.ID] = it
		it.Translations = map[string]Translation{baseLang: {Title: it.Title, Description: it.Description}}
	}
	langs := map[string]bool{baseLang: true}
	for _, f := range others {
		lang := strings.ToLower(strings.TrimSpace(f.Language))
		if lang == "" || langs[lang] {
			problems = append(problems, &MergeError{Language: lang, Msg: "a feed without a language, or a language given twice: left out"})
			continue
		}
		langs[lang] = true
		for _, it := range f.Items {
			if !matchable(it) {
				continue
			}
			target, ok := byID[it.ID]
			if !ok {
				problems = append(problems, &MergeError{Language: lang, Line: it.Line, ID: it.ID,
					Msg: fmt.Sprintf("id %q is not in the %s feed", short(it.ID), baseLang)})
				continue
			}
			if _, done := target.Translations[lang]; done {
				continue // a duplicate the reader did not see: the first one counts
			}
			target.Translations[lang] = Translation{Title: it.Title, Description: it.Description}
		}
		for _, it := range base.Items {
			if matchable(it) && byID[it.ID] == it {
				if _, ok := it.Translations[lang]; !ok {
					problems = append(problems, &MergeError{Language: lang, ID: it.ID,
						Msg: fmt.Sprintf("id %q (line %d of the %s feed) has no %s translation", short(it.ID), it.Line, baseLang, lang)})
				}
			}
		}
	}
	return problems
}

// matchable reports whether an item can be matched on its id.
func matchable(it *Item) bool {
	if it == nil || it.ID == "" {
		return false
	}
	for _, e := range it.Errors {
		if e.Kind == KindDuplicateID || e.Kind == KindColumnCount || e.Kind == KindQuoting {
			return false
		}
	}
	return true
}
