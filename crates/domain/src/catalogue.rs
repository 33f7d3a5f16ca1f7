//! The service catalogue: the single source of every guide, checklist and time limit.
//!
//! These types are also the JSON exchange format (`GET /api/v1/catalogue/export`) and the shape
//! of the demo data set: every field but the few API-V1 requires has a default, so a minimal
//! item is `{"code","name","department","kind","statutory_limit_days","committed_limit_days",
//! "materials":[{"code","name"}]}`.

use serde::{Deserialize, Serialize};

mod bundles;
pub mod fixtures;
mod notice;
mod validation;

pub use bundles::bundle_stages;
pub use notice::{
    Answers, ChosenAnswer, NoticeMaterial, OneTimeNotice, OpenQuestion, one_time_notice,
};
pub use validation::{
    Known, MAX_CODE_CHARS, validate_bundle, validate_catalogue, validate_department, validate_item,
    validate_region,
};

/// The administrative tree halls and departments hang from (市-县-乡镇-村).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub level: RegionLevel,
}

/// Ordered from the top of the tree down: a child region's level is greater than its parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Township,
    Village,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 5] = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Township,
        RegionLevel::Village,
    ];
    pub fn from_label(s: &str) -> Option<RegionLevel> {
        RegionLevel::ALL.into_iter().find(|l| l.label() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            RegionLevel::Province => "省",
            RegionLevel::City => "市",
            RegionLevel::County => "县（区）",
            RegionLevel::Township => "乡镇（街道）",
            RegionLevel::Village => "村（社区）",
        }
    }
}

/// An approving authority (进驻部门).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    /// Region code; empty when created through the minimal API-V1 call.
    #[serde(default)]
    pub region: Option<String>,
}

/// 事项类型: the eight kinds of government service item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// 行政许可
    #[default]
    Licensing,
    /// 行政确认
    Confirmation,
    /// 行政给付
    Payment,
    /// 行政奖励
    Reward,
    /// 行政裁决
    Ruling,
    /// 行政备案
    Filing,
    /// 其他行政权力
    OtherPower,
    /// 公共服务
    PublicService,
}

impl ItemType {
    pub const ALL: [ItemType; 8] = [
        ItemType::Licensing,
        ItemType::Confirmation,
        ItemType::Payment,
        ItemType::Reward,
        ItemType::Ruling,
        ItemType::Filing,
        ItemType::OtherPower,
        ItemType::PublicService,
    ];
    pub fn label(self) -> &'static str {
        match self {
            ItemType::Licensing => "行政许可",
            ItemType::Confirmation => "行政确认",
            ItemType::Payment => "行政给付",
            ItemType::Reward => "行政奖励",
            ItemType::Ruling => "行政裁决",
            ItemType::Filing => "行政备案",
            ItemType::OtherPower => "其他行政权力",
            ItemType::PublicService => "公共服务",
        }
    }
    pub fn from_label(s: &str) -> Option<ItemType> {
        ItemType::ALL.into_iter().find(|t| t.label() == s)
    }
}

/// 即办件 or 承诺件.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Immediate,
    Committed,
}

impl ItemKind {
    pub const ALL: [ItemKind; 2] = [ItemKind::Immediate, ItemKind::Committed];
    pub fn from_label(s: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.label() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Immediate => "即办件",
            ItemKind::Committed => "承诺件",
        }
    }
}

/// The longest a special procedure may take: 250 working days, about one calendar year of
/// working days (365 days less 104 weekend days and the 13 public holidays of the State
/// Council's 全国年节及纪念日放假办法). The law sets no ceiling (R-SPECIAL-TIME), but a hearing or
/// a test that needs more than a year is a typo or a case to refuse, not a suspension to
/// announce to the applicant in writing.
pub const MAX_SPECIAL_PROCEDURE_DAYS: u32 = 250;

/// A step whose time is not counted in the limit unless stated (R-SPECIAL-TIME): 听证、招标、
/// 拍卖、检验、检测、检疫、鉴定、专家评审、踏勘…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialProcedure {
    pub name: String,
    /// Time it needs, in working days (told to the applicant in writing).
    pub days: u32,
    /// Whether that time counts against the limit (usually not).
    #[serde(default)]
    pub counted_in_limit: bool,
}

/// 办理情形: a simple question whose answer changes which materials are needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Situation {
    pub code: String,
    pub question: String,
    pub options: Vec<SituationOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SituationOption {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MaterialForm {
    #[default]
    Original,
    Copy,
    OriginalAndCopy,
}

impl MaterialForm {
    pub const ALL: [MaterialForm; 3] = [
        MaterialForm::Original,
        MaterialForm::Copy,
        MaterialForm::OriginalAndCopy,
    ];
    pub fn from_label(s: &str) -> Option<MaterialForm> {
        MaterialForm::ALL.into_iter().find(|f| f.label() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            MaterialForm::Original => "原件",
            MaterialForm::Copy => "复印件",
            MaterialForm::OriginalAndCopy => "原件及复印件",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MaterialMedium {
    #[default]
    Paper,
    Electronic,
    Either,
}

impl MaterialMedium {
    pub const ALL: [MaterialMedium; 3] = [
        MaterialMedium::Paper,
        MaterialMedium::Electronic,
        MaterialMedium::Either,
    ];
    pub fn from_label(s: &str) -> Option<MaterialMedium> {
        MaterialMedium::ALL.into_iter().find(|m| m.label() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            MaterialMedium::Paper => "纸质",
            MaterialMedium::Electronic => "电子",
            MaterialMedium::Either => "纸质或电子",
        }
    }
}

/// The material is needed only when the answer to `question` is one of `answers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredIf {
    pub question: String,
    pub answers: Vec<String>,
}

/// 申请材料: one required document of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialRequirement {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub form: MaterialForm,
    #[serde(default = "one")]
    pub copies: u32,
    #[serde(default)]
    pub medium: MaterialMedium,
    /// File name of a blank form or a filled-in example (空白表格/示范文本).
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub required_if: Option<RequiredIf>,
    /// Anything else the applicant should know (issuing body, validity…).
    #[serde(default)]
    pub note: String,
}

fn one() -> u32 {
    1
}

/// 政务服务事项 with its standard elements (事项要素).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceItem {
    pub code: String,
    pub name: String,
    pub department: String,
    #[serde(default, rename = "type")]
    pub item_type: ItemType,
    pub kind: ItemKind,
    pub statutory_limit_days: u32,
    pub committed_limit_days: u32,
    /// 设定依据
    #[serde(default)]
    pub legal_basis: String,
    /// 受理条件
    #[serde(default)]
    pub conditions: String,
    /// 收费标准; empty means free (不收费).
    #[serde(default)]
    pub fee: String,
    /// 到办事现场次数
    #[serde(default)]
    pub on_site_visits: u32,
    /// 是否可网办
    #[serde(default)]
    pub online: bool,
    /// 超时默认 (R-DEEMED)
    #[serde(default)]
    pub deemed_approval: bool,
    #[serde(default)]
    pub special_procedures: Vec<SpecialProcedure>,
    #[serde(default)]
    pub situations: Vec<Situation>,
    pub materials: Vec<MaterialRequirement>,
    /// 办理流程 in words, for the guide.
    #[serde(default)]
    pub process_description: String,
    /// 咨询电话
    #[serde(default)]
    pub consult_phone: String,
    /// Where it is handled (办理地点) and when (办理时间), for the guide.
    #[serde(default)]
    pub location: String,
    /// 办理结果: the certificate an approval issues.
    #[serde(default, skip_serializing_if = "ItemResult::is_unset")]
    pub result: ItemResult,
}

/// 办理结果 (审批结果) of an item: what the approved applicant holds, and how the material vault
/// keeps it for the next application (材料共享).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemResult {
    /// 结果名称, e.g. 营业执照; empty: the item's name.
    pub name: String,
    /// The material code the result stands for in other items' checklists (e.g.
    /// `business_license`); empty: the result satisfies no other item's material.
    pub material: String,
    /// 有效期 in years; 0: 长期有效.
    pub valid_years: u32,
}

impl ItemResult {
    pub fn is_unset(&self) -> bool {
        *self == ItemResult::default()
    }

    /// The material code the certificate is kept under in the vault: the declared one, or
    /// `RESULT:<item>` so it is still listed as the applicant's.
    pub fn vault_code(&self, item: &str) -> String {
        if self.material.is_empty() {
            format!("RESULT:{item}")
        } else {
            self.material.clone()
        }
    }

    /// The last day a result issued on `issued_on` is valid, the day before its anniversary
    /// (None: 长期有效); issued on 29 February, it runs to the 28th in a common year.
    pub fn valid_until(&self, issued_on: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        if self.valid_years == 0 {
            return None;
        }
        use chrono::Datelike;
        let anniversary =
            issued_on.checked_add_months(chrono::Months::new(self.valid_years * 12))?;
        if anniversary.day() == issued_on.day() {
            anniversary.pred_opt()
        } else {
            Some(anniversary)
        }
    }
}

/// 一件事一次办: several items applied for together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub items: Vec<BundleItem>,
    /// Materials asked for once for the whole bundle.
    #[serde(default)]
    pub shared_materials: Vec<SharedMaterial>,
}

/// A member item; `after` lists the member items that must be done first (serial). Items with
/// no prerequisite run in parallel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleItem {
    pub item: String,
    #[serde(default)]
    pub after: Vec<String>,
}

/// One material submitted once that stands for a material of several member items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedMaterial {
    pub code: String,
    pub name: String,
    pub covers: Vec<MaterialRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialRef {
    pub item: String,
    pub material: String,
}

/// The whole catalogue, as exported and imported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    #[serde(default)]
    pub regions: Vec<Region>,
    #[serde(default)]
    pub departments: Vec<Department>,
    #[serde(default)]
    pub items: Vec<ServiceItem>,
    #[serde(default)]
    pub bundles: Vec<Bundle>,
}
