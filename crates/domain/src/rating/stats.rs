//! The numbers of 好差评 and 回访 (R-EVAL-DEFAULT, R-BAD-RATING, R-CALLBACK-DAILY): rates from
//! counts. The store counts (one grouped query per table); these functions only divide, so
//! every page, export and report shows the same figure for the same counts.

use serde::Serialize;

/// What the store counts for one group (a hall, department, window, staff member, item or
/// month). Ratings excluded by an upheld appeal are in none of the rating counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every counted rating, defaults included.
    pub ratings: i64,
    /// Ratings people gave themselves (not default).
    pub by_people: i64,
    /// Of those, levels 5–3.
    pub satisfied: i64,
    /// Of those, 差评.
    pub bad: i64,
    /// 差评 whose rater is known (a case's applicant, a ticket with a phone number).
    pub named_bad: i64,
    /// Of those, called back (the callback ended reached, refused or unreachable after its tries).
    pub named_bad_called: i64,
    pub rectifications: i64,
    /// Rectifications closed by a fix or an explanation (appeals upheld are not rectified).
    pub rectified: i64,
    pub rectified_on_time: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.ratings += o.ratings;
        self.by_people += o.by_people;
        self.satisfied += o.satisfied;
        self.bad += o.bad;
        self.named_bad += o.named_bad;
        self.named_bad_called += o.named_bad_called;
        self.rectifications += o.rectifications;
        self.rectified += o.rectified;
        self.rectified_on_time += o.rectified_on_time;
    }
}

/// A share as a fraction; `None` when nothing was there to count (shown as “—”, never 0 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate(pub Option<f64>);

impl Rate {
    pub fn of(part: i64, whole: i64) -> Rate {
        Rate((whole > 0).then(|| part as f64 / whole as f64))
    }

    /// “98.5%” or “—”.
    pub fn percent(&self) -> String {
        match self.0 {
            Some(r) => format!("{:.1}%", r * 100.0),
            None => "—".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// 满意率: 5–3 among the ratings people gave (defaults never count).
    pub satisfaction: Rate,
    /// 差评率: among the ratings people gave.
    pub bad: Rate,
    /// 主动评价率: ratings people gave among all counted ratings.
    pub active: Rate,
    /// 实名差评回访率.
    pub named_bad_callback: Rate,
    /// 整改率.
    pub rectification: Rate,
    /// 按时整改率: of the rectified, those closed by their deadline.
    pub on_time_rectification: Rate,
}

pub fn rates(c: &Counts) -> Rates {
    Rates {
        satisfaction: Rate::of(c.satisfied, c.by_people),
        bad: Rate::of(c.bad, c.by_people),
        active: Rate::of(c.by_people, c.ratings),
        named_bad_callback: Rate::of(c.named_bad_called, c.named_bad),
        rectification: Rate::of(c.rectified, c.rectifications),
        on_time_rectification: Rate::of(c.rectified_on_time, c.rectified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_count_in_the_total_but_not_in_satisfaction_or_activity() {
        // 8 ratings: 6 by people (4 satisfied, 2 bad), 2 defaults.
        let c = Counts {
            ratings: 8,
            by_people: 6,
            satisfied: 4,
            bad: 2,
            named_bad: 2,
            named_bad_called: 1,
            rectifications: 2,
            rectified: 1,
            rectified_on_time: 1,
        };
        let r = rates(&c);
        assert_eq!(r.satisfaction.percent(), "66.7%");
        assert_eq!(r.bad.percent(), "33.3%");
        assert_eq!(r.active.percent(), "75.0%");
        assert_eq!(r.named_bad_callback.percent(), "50.0%");
        assert_eq!(r.rectification.percent(), "50.0%");
        assert_eq!(r.on_time_rectification.percent(), "100.0%");
    }

    #[test]
    fn nothing_to_count_reads_as_a_dash_not_zero() {
        assert_eq!(rates(&Counts::default()).satisfaction.percent(), "—");
    }
}
