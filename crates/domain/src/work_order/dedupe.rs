//! 重复诉求: likely duplicates of an order. Chinese text has no spaces between words, so texts are
//! compared by their character bigrams (Dice coefficient); punctuation and spaces are dropped.

use std::collections::HashSet;

use chrono::NaiveDate;

/// What a comparison needs of an order.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub received_on: NaiveDate,
    pub category: Option<&'a str>,
    /// The requester's phone number, if any (compared whole, never shown).
    pub phone: Option<&'a str>,
    pub place: &'a str,
    pub text: &'a str,
}

pub fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Dice coefficient of two bigram sets, in percent.
pub fn similarity(a: &HashSet<(char, char)>, b: &HashSet<(char, char)>) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let common = a.intersection(b).count();
    ((200 * common) / (a.len() + b.len())) as u8
}

/// An order to find duplicates of, its text's bigrams made once for all comparisons.
pub struct Probe<'a> {
    pub order: Candidate<'a>,
    grams: HashSet<(char, char)>,
}

impl<'a> Probe<'a> {
    pub fn new(order: Candidate<'a>) -> Probe<'a> {
        Probe {
            grams: bigrams(order.text),
            order,
        }
    }
}

/// Why `other` looks like a duplicate of `new` (the score and the reasons), or `None`.
/// Within `window_days`; of the same category where both have one; and the same requester, or
/// the same place with similar text, or very similar text.
pub fn duplicate_score(
    probe: &Probe<'_>,
    other: &Candidate<'_>,
    window_days: u32,
    min_similarity: u8,
) -> Option<(u8, Vec<&'static str>)> {
    let new = &probe.order;
    let apart = (new.received_on - other.received_on).num_days().abs();
    if apart > i64::from(window_days) {
        return None;
    }
    if let (Some(a), Some(b)) = (new.category, other.category)
        && a != b
    {
        return None;
    }
    let sim = similarity(&probe.grams, &bigrams(other.text));
    let same_requester =
        matches!((new.phone, other.phone), (Some(a), Some(b)) if !a.is_empty() && a == b);
    let same_place = !new.place.trim().is_empty() && new.place.trim() == other.place.trim();
    let mut why = Vec::new();
    if same_requester {
        why.push("同一诉求人");
    }
    if same_place {
        why.push("同一地点");
    }
    if sim >= min_similarity {
        why.push("内容相似");
    }
    let likely = ((same_requester || same_place) && sim >= min_similarity / 2)
        || sim >= min_similarity.saturating_add(20).min(100);
    likely.then_some((sim, why))
}
