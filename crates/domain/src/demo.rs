//! The demo hall set-up (`data/demo/halls.json`): halls with their office hours, queues and
//! windows, and the demo staff accounts that `yichuang demo` loads next to the demo catalogue
//! (`data/demo/catalogue.json`, a [`Catalogue`]).
//!
//! The hall, queue and window tables come in a later issue, so this shape is kept small and
//! self-describing; [`HallSetup::check`] states the rules a loader relies on, against the
//! catalogue whose regions and departments the halls refer to.

use std::collections::HashSet;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::{Problems, Result, Role};

/// Everything `data/demo/halls.json` describes. Unknown fields are refused, so a misspelt key
/// fails loudly instead of silently falling back to a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallSetup {
    /// The one password of every demo account, published in `docs/demo.md`. A loader stores it
    /// hashed like any other password; it exists so a hall director can try each role.
    pub demo_password: String,
    pub halls: Vec<HallPlan>,
    #[serde(default)]
    pub staff: Vec<StaffAccount>,
}

/// One service hall (政务服务中心) as it is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallPlan {
    pub code: String,
    pub name: String,
    /// Region code from the catalogue: statistics roll up along the region tree.
    pub region: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    pub office_hours: OfficeHours,
    pub queues: Vec<QueuePlan>,
    pub windows: Vec<WindowPlan>,
}

/// Published office hours (R-HOURS), in the hall's local time.
///
/// `working_days` applies to every working day of the calendar, an adjusted working day on a
/// weekend included; `weekend_service` (延时/周末服务) applies only to ordinary rest days, so a
/// Saturday inside a public holiday stays closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    pub working_days: Vec<Period>,
    #[serde(default)]
    pub weekend_service: Vec<WeekendService>,
}

/// An opening period, written `"09:00"`–`"12:00"` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[serde(with = "hh_mm")]
    pub start: NaiveTime,
    #[serde(with = "hh_mm")]
    pub end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekendService {
    pub day: RestDay,
    pub periods: Vec<Period>,
    /// The queues open then; empty means every queue of the hall.
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestDay {
    Saturday,
    Sunday,
}

/// A line visitors wait in, named for a business area; tickets are numbered with its prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuePlan {
    pub code: String,
    pub name: String,
    /// Letter(s) in front of the ticket number, e.g. `A` in A017.
    pub prefix: String,
    /// Departments whose items this queue takes. Empty for queues that serve any visitor
    /// (出件, 帮办代办, 办不成事反映).
    #[serde(default)]
    pub departments: Vec<String>,
}

/// The five kinds of window (GLOSSARY `WindowKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// 综合窗口: accepts any item of its business area (无差别受理).
    Comprehensive,
    /// 专业窗口: one department's own counter.
    Specialist,
    /// 出件窗口: hands out results.
    Issuance,
    /// 反映“办不成事”窗口: takes problems the other windows could not solve.
    Unresolved,
    /// 帮办代办窗口: free help and full proxy service.
    Agency,
}

impl WindowKind {
    pub const ALL: [WindowKind; 5] = [
        WindowKind::Comprehensive,
        WindowKind::Specialist,
        WindowKind::Issuance,
        WindowKind::Unresolved,
        WindowKind::Agency,
    ];

    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Comprehensive => "综合窗口",
            WindowKind::Specialist => "专业窗口",
            WindowKind::Issuance => "出件窗口",
            WindowKind::Unresolved => "“办不成事”反映窗口",
            WindowKind::Agency => "帮办代办窗口",
        }
    }
}

/// A counter and the queues it calls from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowPlan {
    /// Unique within its hall.
    pub code: String,
    pub name: String,
    pub kind: WindowKind,
    /// Queues served in order of preference: a free window calls from the first queue that has
    /// someone waiting.
    pub queues: Vec<String>,
    /// The department a specialist window belongs to.
    #[serde(default)]
    pub department: Option<String>,
}

/// A demo staff account. `admin` is not among them: it is created from
/// `YICHUANG_ADMIN_PASSWORD` (API-V1), never from a file with a published password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub hall: Option<String>,
    /// A supervisor's region (R-SUPERVISE): it sees the halls of that region and below.
    #[serde(default)]
    pub region: Option<String>,
    /// Post and duties, shown in the demo guide.
    #[serde(default)]
    pub note: String,
}

impl StaffAccount {
    /// Front-desk roles act inside one hall, so their accounts must name it.
    fn needs_hall(&self) -> bool {
        matches!(
            self.role,
            Role::HallManager | Role::Clerk | Role::Issuance | Role::Agent | Role::Callback
        )
    }

    /// Back-office approvers decide for one department.
    fn needs_department(&self) -> bool {
        self.role == Role::Approver
    }
}

impl HallSetup {
    /// Every problem at once, with Chinese messages, or `Ok` when a loader can insert the set-up
    /// after `catalogue` without a dangling reference.
    pub fn check(&self, catalogue: &Catalogue) -> Result<()> {
        let regions: HashSet<&str> = catalogue.regions.iter().map(|r| r.code.as_str()).collect();
        let departments: HashSet<&str> = catalogue
            .departments
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        let mut p = Problems::new();
        p.check(
            self.demo_password.chars().count() >= 8,
            "demo_password",
            "演示密码至少需要8个字符",
        );
        p.check(!self.halls.is_empty(), "halls", "至少需要一个大厅");
        let mut hall_codes = HashSet::new();
        for (h, hall) in self.halls.iter().enumerate() {
            let at = format!("halls[{h}]");
            p.check(
                !hall.name.trim().is_empty(),
                &format!("{at}.name"),
                "大厅名称不能为空",
            );
            new_code(&mut hall_codes, &hall.code, &at, "大厅编码", &mut p);
            if !regions.contains(hall.region.as_str()) {
                p.add(
                    format!("{at}.region"),
                    format!("区域“{}”不在事项目录的区域中", hall.region),
                );
            }
            check_hall(hall, &at, &departments, &mut p);
        }
        let mut usernames = HashSet::new();
        for (s, account) in self.staff.iter().enumerate() {
            check_account(
                account,
                &format!("staff[{s}]"),
                &mut usernames,
                &hall_codes,
                &departments,
                &mut p,
            );
        }
        p.finish()
    }
}

fn check_hall(hall: &HallPlan, at: &str, departments: &HashSet<&str>, p: &mut Problems) {
    let hours = &hall.office_hours;
    p.check(
        !hours.working_days.is_empty(),
        &format!("{at}.office_hours.working_days"),
        "工作日至少需要一个办公时段",
    );
    check_periods(
        &hours.working_days,
        &format!("{at}.office_hours.working_days"),
        p,
    );

    let mut queue_codes = HashSet::new();
    let mut prefixes = HashSet::new();
    for (q, queue) in hall.queues.iter().enumerate() {
        let qat = format!("{at}.queues[{q}]");
        new_code(&mut queue_codes, &queue.code, &qat, "队列编码", p);
        let prefix_ok = (1..=2).contains(&queue.prefix.len())
            && queue.prefix.bytes().all(|b| b.is_ascii_uppercase());
        if !prefix_ok {
            p.add(
                format!("{qat}.prefix"),
                format!("号码前缀“{}”应为1至2个大写英文字母", queue.prefix),
            );
        } else if !prefixes.insert(queue.prefix.as_str()) {
            p.add(
                format!("{qat}.prefix"),
                format!("号码前缀“{}”在本大厅重复，叫号时无法区分", queue.prefix),
            );
        }
        for d in &queue.departments {
            known_department(d, departments, &format!("{qat}.departments"), p);
        }
    }

    for (w, service) in hours.weekend_service.iter().enumerate() {
        let wat = format!("{at}.office_hours.weekend_service[{w}]");
        p.check(
            !service.periods.is_empty(),
            &format!("{wat}.periods"),
            "周末服务至少需要一个办公时段",
        );
        check_periods(&service.periods, &format!("{wat}.periods"), p);
        for q in &service.queues {
            if !queue_codes.contains(q.as_str()) {
                p.add(
                    format!("{wat}.queues"),
                    format!("队列“{q}”不是本大厅的队列"),
                );
            }
        }
    }

    let mut window_codes = HashSet::new();
    for (w, window) in hall.windows.iter().enumerate() {
        let wat = format!("{at}.windows[{w}]");
        new_code(&mut window_codes, &window.code, &wat, "窗口编码", p);
        p.check(
            !window.queues.is_empty(),
            &format!("{wat}.queues"),
            "窗口至少需要服务一个队列",
        );
        let mut served = HashSet::new();
        for q in &window.queues {
            if !queue_codes.contains(q.as_str()) {
                p.add(
                    format!("{wat}.queues"),
                    format!("队列“{q}”不是本大厅的队列"),
                );
            } else if !served.insert(q.as_str()) {
                p.add(format!("{wat}.queues"), format!("队列“{q}”重复列出"));
            }
        }
        match &window.department {
            Some(d) => known_department(d, departments, &format!("{wat}.department"), p),
            None if window.kind == WindowKind::Specialist => {
                p.add(format!("{wat}.department"), "专业窗口需要指明所属部门")
            }
            None => {}
        }
    }
}

/// Periods must be real intervals, in order, and must not overlap: office minutes are counted
/// over them (R-HOURS, R-ROUTE-10MIN).
fn check_periods(periods: &[Period], at: &str, p: &mut Problems) {
    for (i, period) in periods.iter().enumerate() {
        if period.start >= period.end {
            p.add(
                format!("{at}[{i}]"),
                format!(
                    "开始时间 {} 应早于结束时间 {}",
                    period.start.format("%H:%M"),
                    period.end.format("%H:%M")
                ),
            );
        }
    }
    for (i, pair) in periods.windows(2).enumerate() {
        if pair[1].start < pair[0].end {
            p.add(
                format!("{at}[{}]", i + 1),
                "办公时段应按时间先后排列且互不重叠",
            );
        }
    }
}

fn check_account<'a>(
    account: &'a StaffAccount,
    at: &str,
    usernames: &mut HashSet<&'a str>,
    halls: &HashSet<&str>,
    departments: &HashSet<&str>,
    p: &mut Problems,
) {
    let name_ok = (3..=32).contains(&account.username.len())
        && account
            .username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !name_ok {
        p.add(
            format!("{at}.username"),
            format!(
                "用户名“{}”应为3至32位小写字母、数字、下划线或点",
                account.username
            ),
        );
    } else if !usernames.insert(account.username.as_str()) {
        p.add(
            format!("{at}.username"),
            format!("用户名“{}”重复", account.username),
        );
    }
    p.check(
        !account.display_name.trim().is_empty(),
        &format!("{at}.display_name"),
        "姓名不能为空",
    );
    p.check(
        account.role != Role::Admin && account.username != "admin",
        &format!("{at}.role"),
        "系统管理员账号由 YICHUANG_ADMIN_PASSWORD 创建，不能放在演示账号中",
    );
    match &account.hall {
        Some(h) if !halls.contains(h.as_str()) => {
            p.add(format!("{at}.hall"), format!("大厅“{h}”不在演示大厅中"))
        }
        None if account.needs_hall() => p.add(
            format!("{at}.hall"),
            format!("{}账号需要指明所在大厅", account.role.label()),
        ),
        _ => {}
    }
    match &account.department {
        Some(d) => known_department(d, departments, &format!("{at}.department"), p),
        None if account.needs_department() => p.add(
            format!("{at}.department"),
            format!("{}账号需要指明所属部门", account.role.label()),
        ),
        None => {}
    }
}

/// A code must be present and new within its scope (`seen`): loaders key rows by it.
fn new_code<'a>(
    seen: &mut HashSet<&'a str>,
    code: &'a str,
    at: &str,
    what: &str,
    p: &mut Problems,
) {
    if code.trim().is_empty() {
        p.add(format!("{at}.code"), format!("{what}不能为空"));
    } else if !seen.insert(code) {
        p.add(format!("{at}.code"), format!("{what}“{code}”重复"));
    }
}

fn known_department(code: &str, departments: &HashSet<&str>, at: &str, p: &mut Problems) {
    if !departments.contains(code) {
        p.add(at, format!("部门“{code}”不在事项目录中"));
    }
}

/// `"09:00"` in the file: what halls publish, without seconds.
mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map_err(|_| D::Error::custom(format!("时间“{s}”应写成 HH:MM，例如 09:00")))
    }
}

#[cfg(test)]
mod tests;
