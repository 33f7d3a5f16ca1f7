//! Window rankings (红旗窗口 / 星级窗口, R-SUPERVISE): a score from the period's figures with
//! weights the hall sets, the top ones flagged, the bottom one two periods running called in
//! (约谈). The formula is written out beside every ranking, with its inputs.

use serde::{Deserialize, Serialize};

use super::numbers::{Figures, Metric};
use crate::Problems;

/// Weights of the score's parts; they need not add up to 100 (the score is their weighted mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    /// Share of the window's waits within 30 minutes.
    pub timeliness: u32,
    /// 满意率 of the ratings people gave the window.
    pub ratings: u32,
    /// 100 less 10 points per 差评 (floored at 0).
    pub complaints: u32,
    /// Share of visitors served rather than missed (过号).
    pub service: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            timeliness: 30,
            ratings: 40,
            complaints: 20,
            service: 10,
        }
    }
}

impl Weights {
    pub fn check(&self, p: &mut Problems) {
        let sum = self.timeliness + self.ratings + self.complaints + self.service;
        p.check(
            sum > 0 && sum <= 1000,
            "ranking",
            "排名权重之和应在 1 到 1000 之间",
        );
    }

    /// The formula as people read it.
    pub fn formula(&self) -> String {
        format!(
            "得分 =（及时率×{} + 满意率×{} + 投诉分×{} + 到号率×{}）÷ {}；及时率为等候 30 分钟内的占比，投诉分为 100 − 10×差评数（最低 0），到号率为未过号的占比；无数据的部分按 100 计",
            self.timeliness,
            self.ratings,
            self.complaints,
            self.service,
            self.timeliness + self.ratings + self.complaints + self.service
        )
    }
}

/// A score's inputs, each 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub timeliness: f64,
    pub ratings: f64,
    pub complaints: f64,
    pub service: f64,
}

impl Inputs {
    /// From a window's figures over the period. A part with nothing to count (no ratings, no
    /// waits) counts as full marks: a quiet window is not punished for being quiet.
    pub fn of(f: &Figures) -> Inputs {
        let waits = f.count(Metric::WaitCount);
        let within =
            f.count(Metric::WaitLe10) + f.count(Metric::WaitLe20) + f.count(Metric::WaitLe30);
        let share = |part: i64, whole: i64| {
            if whole > 0 {
                100.0 * part as f64 / whole as f64
            } else {
                100.0
            }
        };
        let tickets = f.count(Metric::Served) + f.count(Metric::NoShows);
        Inputs {
            timeliness: share(within, waits),
            ratings: share(f.count(Metric::Satisfied), f.count(Metric::Ratings)),
            complaints: (100.0 - 10.0 * f.count(Metric::Bad) as f64).max(0.0),
            service: share(f.count(Metric::Served), tickets),
        }
    }

    pub fn score(&self, w: &Weights) -> f64 {
        let total = f64::from(w.timeliness + w.ratings + w.complaints + w.service).max(1.0);
        let sum = self.timeliness * f64::from(w.timeliness)
            + self.ratings * f64::from(w.ratings)
            + self.complaints * f64::from(w.complaints)
            + self.service * f64::from(w.service);
        (sum / total * 10.0).round() / 10.0
    }
}

/// One window's place in a period's ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked<K> {
    pub key: K,
    pub place: usize,
    pub score: f64,
    pub inputs: Inputs,
    /// 红旗窗口.
    pub flag: bool,
    /// Last two periods running at the bottom: called in (约谈).
    pub talk: bool,
}

/// Ranks by score (ties keep the input order); `last_bottom` is the key at the bottom of the
/// previous period's ranking, if any.
pub fn rank<K: Clone + PartialEq>(
    entries: Vec<(K, Inputs)>,
    weights: &Weights,
    top: usize,
    last_bottom: Option<&K>,
) -> Vec<Ranked<K>> {
    let mut scored: Vec<(K, Inputs, f64)> = entries
        .into_iter()
        .map(|(k, i)| {
            let s = i.score(weights);
            (k, i, s)
        })
        .collect();
    scored.sort_by(|a, b| b.2.total_cmp(&a.2));
    let n = scored.len();
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (key, inputs, score))| {
            let bottom = n > 1 && i == n - 1;
            Ranked {
                talk: bottom && last_bottom == Some(&key),
                flag: i < top && n > 1 && !bottom,
                place: i + 1,
                score,
                inputs,
                key,
            }
        })
        .collect()
}
