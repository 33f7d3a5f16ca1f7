//! The practice numbers of work orders and the ledger (R-WO-LOOP, R-HOTLINE, R-LEDGER): settings,
//! not constants. A centre changes them on its settings; the defaults are the rules' examples.

use serde::{Deserialize, Serialize};

use super::Status;
use crate::{Error, Result};

/// A time tier: how many working days the lead unit has (0: the same day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub code: String,
    pub name: String,
    pub days: u32,
}

/// A category of the dispatch catalogue (派单目录): a tree by `parent`; where a unit is named,
/// classifying into the category proposes it as the lead unit, and the tier as the time tier.
/// `public` categories are offered on the public form and as Open311 services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// A code such as GB/T 39666's (e.g. `0301`), or the centre's own.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub description: String,
}

/// One aspect of the ledger's categories (e.g. 7 aspects with 23 key points) and its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aspect {
    pub code: String,
    pub name: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkOrderSettings {
    pub tiers: Vec<Tier>,
    pub categories: Vec<Category>,
    /// The states in which the clock stands still (each pause is kept in the order's ledger).
    pub pause_states: Vec<Status>,
    /// The share of the budget used that turns the light yellow.
    pub yellow_at_percent: u8,
    /// 督办 this many working days after a missed deadline (催办 comes the day after).
    pub oversight_after_days: u32,
    /// Likely duplicates are looked for among the orders of this many days before.
    pub duplicate_window_days: u32,
    /// Text similarity (character bigrams, Dice coefficient, in percent) that makes a duplicate.
    pub duplicate_similarity_percent: u8,
    /// This many orders of one category at one unit within `cluster_window_days` suggest a
    /// ledger entry (未诉先办).
    pub cluster_threshold: u32,
    pub cluster_window_days: u32,
    /// Working days a ledger entry has by default; days after close-out its revisit is due.
    pub ledger_days: u32,
    pub revisit_after_days: u32,
    pub aspects: Vec<Aspect>,
}

fn tier(code: &str, name: &str, days: u32) -> Tier {
    Tier {
        code: code.into(),
        name: name.into(),
        days,
    }
}

fn category(code: &str, name: &str, unit: Option<&str>, tier: &str, public: bool) -> Category {
    Category {
        code: code.into(),
        name: name.into(),
        parent: None,
        unit: unit.map(Into::into),
        tier: Some(tier.into()),
        public,
        description: String::new(),
    }
}

fn aspect(code: &str, name: &str, points: &[(&str, &str)]) -> Aspect {
    Aspect {
        code: code.into(),
        name: name.into(),
        points: points
            .iter()
            .map(|(c, n)| Point {
                code: (*c).into(),
                name: (*n).into(),
            })
            .collect(),
    }
}

enum NumberRef<'a> {
    Percent(&'a mut u8),
    Days(&'a mut u32),
}

impl Default for WorkOrderSettings {
    fn default() -> Self {
        WorkOrderSettings {
            // R-WO-LOOP's tiers, then R-HOTLINE's example bureau.
            tiers: vec![
                tier("immediate", "即办", 0),
                tier("general", "一般", 5),
                tier("complex", "复杂", 10),
                tier("emergency", "紧急", 0),
                tier("enquiry", "咨询求助", 3),
                tier("complaint", "投诉", 13),
            ],
            categories: vec![
                category("01", "办事咨询", None, "enquiry", true),
                category("02", "办不成事", None, "general", true),
                category("03", "服务投诉", None, "complaint", true),
                category("04", "意见建议", None, "general", true),
            ],
            pause_states: vec![Status::AwaitingRequester],
            yellow_at_percent: 80,
            oversight_after_days: 5,
            duplicate_window_days: 30,
            duplicate_similarity_percent: 50,
            cluster_threshold: 3,
            cluster_window_days: 30,
            ledger_days: 20,
            revisit_after_days: 30,
            aspects: vec![
                aspect(
                    "A1",
                    "办事指南",
                    &[("A1-1", "材料要求不清"), ("A1-2", "指南与实际不符")],
                ),
                aspect(
                    "A2",
                    "窗口服务",
                    &[("A2-1", "服务态度"), ("A2-2", "一次性告知不到位")],
                ),
                aspect(
                    "A3",
                    "办理流程",
                    &[("A3-1", "环节过多"), ("A3-2", "跑动次数多")],
                ),
                aspect(
                    "A4",
                    "办理时限",
                    &[("A4-1", "超时办理"), ("A4-2", "承诺时限过长")],
                ),
                aspect(
                    "A5",
                    "系统平台",
                    &[("A5-1", "系统不通"), ("A5-2", "数据不共享")],
                ),
                aspect(
                    "A6",
                    "政策规定",
                    &[("A6-1", "政策冲突"), ("A6-2", "无章可循")],
                ),
                aspect(
                    "A7",
                    "作风纪律",
                    &[("A7-1", "推诿扯皮"), ("A7-2", "吃拿卡要")],
                ),
            ],
        }
    }
}

impl WorkOrderSettings {
    /// The plain numbers of the settings, by key, with what people call them: one list for the
    /// settings page to show and to read back.
    pub const NUMBERS: [(&'static str, &'static str); 8] = [
        ("yellow_at_percent", "时限用去百分之几亮黄灯"),
        ("oversight_after_days", "超期几个工作日后督办"),
        ("duplicate_window_days", "查找重复工单的天数"),
        ("duplicate_similarity_percent", "内容相似度（百分比）"),
        ("cluster_threshold", "同类问题几件起提示列入台账"),
        ("cluster_window_days", "聚类统计的天数"),
        ("ledger_days", "台账默认整改工作日"),
        ("revisit_after_days", "销号后几天回头看"),
    ];

    fn number_mut(&mut self, key: &str) -> Option<NumberRef<'_>> {
        Some(match key {
            "yellow_at_percent" => NumberRef::Percent(&mut self.yellow_at_percent),
            "duplicate_similarity_percent" => {
                NumberRef::Percent(&mut self.duplicate_similarity_percent)
            }
            "oversight_after_days" => NumberRef::Days(&mut self.oversight_after_days),
            "duplicate_window_days" => NumberRef::Days(&mut self.duplicate_window_days),
            "cluster_threshold" => NumberRef::Days(&mut self.cluster_threshold),
            "cluster_window_days" => NumberRef::Days(&mut self.cluster_window_days),
            "ledger_days" => NumberRef::Days(&mut self.ledger_days),
            "revisit_after_days" => NumberRef::Days(&mut self.revisit_after_days),
            _ => return None,
        })
    }

    /// The number under `key` of [`Self::NUMBERS`].
    pub fn number(&self, key: &str) -> Option<u32> {
        Some(match key {
            "yellow_at_percent" => u32::from(self.yellow_at_percent),
            "duplicate_similarity_percent" => u32::from(self.duplicate_similarity_percent),
            "oversight_after_days" => self.oversight_after_days,
            "duplicate_window_days" => self.duplicate_window_days,
            "cluster_threshold" => self.cluster_threshold,
            "cluster_window_days" => self.cluster_window_days,
            "ledger_days" => self.ledger_days,
            "revisit_after_days" => self.revisit_after_days,
            _ => return None,
        })
    }

    /// Sets the number under `key`; false when the key is unknown or the value does not fit
    /// (a percentage over 255 is refused here, the range by [`Self::validate`]).
    pub fn set_number(&mut self, key: &str, value: u32) -> bool {
        match self.number_mut(key) {
            Some(NumberRef::Percent(p)) => match u8::try_from(value) {
                Ok(v) => {
                    *p = v;
                    true
                }
                Err(_) => false,
            },
            Some(NumberRef::Days(d)) => {
                *d = value;
                true
            }
            None => false,
        }
    }

    pub fn tier(&self, code: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.code == code)
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The category's path of names from the root: 服务投诉 / 窗口态度.
    pub fn category_path(&self, code: &str) -> String {
        let mut names = Vec::new();
        let mut at = self.category(code);
        while let Some(c) = at {
            names.push(c.name.as_str());
            if names.len() > 8 {
                break;
            }
            at = c.parent.as_deref().and_then(|p| self.category(p));
        }
        names.reverse();
        names.join(" / ")
    }

    pub fn aspect_of_point(&self, point: &str) -> Option<(&Aspect, &Point)> {
        self.aspects
            .iter()
            .find_map(|a| a.points.iter().find(|p| p.code == point).map(|p| (a, p)))
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, msg: String| {
            Err(Error::invalid("invalid_settings", msg.clone()).field(field, msg))
        };
        if self.tiers.is_empty() {
            return bad("tiers", "至少需要一个办理时限档次".into());
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tiers {
            if t.code.trim().is_empty() || t.name.trim().is_empty() {
                return bad("tiers", "时限档次须有代码和名称".into());
            }
            if !seen.insert(t.code.as_str()) {
                return bad("tiers", format!("时限档次代码“{}”重复", t.code));
            }
            if t.days > 60 {
                return bad("tiers", format!("时限档次“{}”不能超过 60 个工作日", t.name));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.categories {
            if c.code.trim().is_empty() || c.name.trim().is_empty() {
                return bad("categories", "分类须有代码和名称".into());
            }
            if !seen.insert(c.code.as_str()) {
                return bad("categories", format!("分类代码“{}”重复", c.code));
            }
            if let Some(t) = &c.tier
                && self.tier(t).is_none()
            {
                return bad(
                    "categories",
                    format!("分类“{}”的时限档次“{t}”不存在", c.name),
                );
            }
            if let Some(p) = &c.parent
                && (self.category(p).is_none() || p == &c.code)
            {
                return bad("categories", format!("分类“{}”的上级分类不存在", c.name));
            }
        }
        if !(1..=100).contains(&self.yellow_at_percent)
            || !(1..=100).contains(&self.duplicate_similarity_percent)
        {
            return bad("yellow_at_percent", "百分比须在 1–100 之间".into());
        }
        for s in &self.pause_states {
            if !s.may_pause() {
                return bad(
                    "pause_states",
                    format!("“{}”不能设为暂停计时的状态", s.label()),
                );
            }
        }
        if self.cluster_threshold < 2 || self.ledger_days == 0 || self.revisit_after_days == 0 {
            return bad(
                "cluster_threshold",
                "聚类阈值至少为 2，台账时限和回头看天数须大于 0".into(),
            );
        }
        Ok(())
    }
}
