//! What every paper a hall hands out carries (issue 10 item 2): the hall's name (never its
//! code), its telephone and address, times in Beijing time in Chinese form, signature lines
//! and the seal area (`web/templates/paper_foot.html`).

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_store::Db;

use crate::clock::hall_zone;

/// The hall a paper comes from.
#[derive(Debug, Clone, Default)]
pub struct Paper {
    pub hall_name: String,
    pub phone: String,
    pub address: String,
}

impl Paper {
    /// The paper of hall `code`; a case without a hall (applied online) names the platform.
    pub async fn of_hall(db: &Db, code: Option<&str>) -> Paper {
        let hall = match code {
            Some(c) => yichuang_store::hall::hall(db, c).await.ok(),
            None => None,
        };
        match hall {
            Some(h) => {
                let s = crate::hall::HallSettings::of(&h).unwrap_or_default();
                Paper {
                    hall_name: h.name,
                    phone: s.phone,
                    address: s.address,
                }
            }
            None => Paper {
                hall_name: "政务服务中心".to_string(),
                ..Paper::default()
            },
        }
    }
}

/// 2026年12月4日 15:10, Beijing time.
pub fn chinese_minute(t: DateTime<Utc>) -> String {
    t.with_timezone(&hall_zone())
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// An RFC 3339 time of a view as the paper prints it; empty when there is none.
pub fn chinese_minute_of(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| chinese_minute(t.with_timezone(&Utc)))
        .unwrap_or_default()
}

/// A `YYYY-MM-DD` date of a view as the paper prints it: 2026年12月4日.
pub fn chinese_date_of(date: &str) -> String {
    date.parse::<NaiveDate>()
        .map(|d| d.format("%Y年%-m月%-d日").to_string())
        .unwrap_or_default()
}

/// One material as a paper lists it: its name, 原件/复印件 and how many.
#[derive(Debug, Clone)]
pub struct PaperMaterial {
    pub name: String,
    pub form: &'static str,
    pub copies: u32,
}
