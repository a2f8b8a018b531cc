package checkout

// Country is a country to ship to.
type Country struct{ Code, Name string }

// Countries are the countries the checkout offers, Europe first.
var Countries = []Country{
	{"LU", "Luxembourg"}, {"AT", "Austria"}, {"BE", "Belgium"}, {"BG", "Bulgaria"}, {"HR", "Croatia"}, {"CY", "Cyprus"},
	{"CZ", "Czechia"}, {"DK", "Denmark"}, {"EE", "Estonia"}, {"FI", "Finland"}, {"FR", "France"}, {"DE", "Germany"},
	{"GR", "Greece"}, {"HU", "Hungary"}, {"IE", "Ireland"}, {"IT", "Italy"}, {"LV", "Latvia"}, {"LT", "Lithuania"},
	{"MT", "Malta"}, {"NL", "Netherlands"}, {"PL", "Poland"}, {"PT", "Portugal"}, {"RO", "Romania"}, {"SK", "Slovakia"},
	{"SI", "Slovenia"}, {"ES", "Spain"}, {"SE", "Sweden"}, {"CH", "Switzerland"}, {"NO", "Norway"}, {"IS", "Iceland"},
	{"GB", "United Kingdom"}, {"US", "United States"}, {"CA", "Canada"}, {"AU", "Australia"}, {"JP", "Japan"},
}
