//! Substring search over item codes and names through an index of character bigrams.
//!
//! `q` is split on whitespace into terms; an item matches when its code or name contains every
//! term (case-insensitive). A term of two or more characters is looked up by its bigrams in
//! `item_search_grams` (indexed), then confirmed with `LIKE` on `search_text`; one-character
//! terms have no bigram and are matched by `LIKE` alone.

use std::collections::BTreeSet;

/// What `q` is matched against: code and name, lower-cased, on separate lines so that no term
/// matches across the two.
pub fn search_text(code: &str, name: &str) -> String {
    format!("{}\n{}", code.to_lowercase(), name.to_lowercase())
}

/// The distinct bigrams of `text`, none spanning whitespace.
pub fn grams(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        for pair in chars.windows(2) {
            out.insert(pair.iter().collect());
        }
    }
    out
}

/// The terms of a query, lower-cased.
pub fn terms(q: &str) -> Vec<String> {
    q.split_whitespace().map(|t| t.to_lowercase()).collect()
}

/// A `LIKE` pattern that finds `term` anywhere, with `\` as the escape character.
pub fn contains_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for ch in term.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Builds the WHERE clause of an item search. Only placeholders are written into the SQL text;
/// every value is bound, in the order of `binds`.
pub struct Filter {
    pub sql: String,
    pub binds: Vec<String>,
}

impl Filter {
    pub fn new() -> Self {
        Filter {
            sql: String::from("1 = 1"),
            binds: Vec::new(),
        }
    }

    fn placeholder(&mut self, value: String) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    pub fn equals(&mut self, column: &str, value: String) {
        let ph = self.placeholder(value);
        self.sql.push_str(&format!(" AND {column} = {ph}"));
    }

    pub fn matches(&mut self, q: &str) {
        for term in terms(q) {
            let term_grams = grams(&term);
            if !term_grams.is_empty() {
                let n = term_grams.len();
                let list: Vec<String> = term_grams
                    .into_iter()
                    .map(|g| self.placeholder(g))
                    .collect();
                self.sql.push_str(&format!(
                    " AND i.id IN (SELECT item_id FROM item_search_grams WHERE gram IN ({}) \
                     GROUP BY item_id HAVING COUNT(*) = {n})",
                    list.join(", ")
                ));
            }
            let ph = self.placeholder(contains_pattern(&term));
            self.sql
                .push_str(&format!(" AND i.search_text LIKE {ph} ESCAPE '\\'"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_cover_every_adjacent_pair_once() {
        let g = grams("营业执照 执照");
        assert_eq!(
            g.into_iter().collect::<Vec<_>>(),
            ["执照", "营业", "业执"]
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn like_wildcards_in_a_term_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn a_query_becomes_placeholders_only() {
        let mut f = Filter::new();
        f.matches("营业执照 x");
        assert!(!f.sql.contains("营业"));
        assert_eq!(f.binds.len(), 3 + 1 + 1);
        assert!(f.sql.contains("HAVING COUNT(*) = 3"));
    }
}
