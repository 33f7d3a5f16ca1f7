//! Help and proxy service (帮办代办, issue 14 part 2): help requests with their own first-contact
//! clock, and mandates (授权委托书) that let an agent (role `agent`, 代办员) act for a principal.
//! Pure rules: the store and the server feed them what they hold and write back what they decide.
//!
//! - A help request comes from the kiosk's 帮办代办 queue, the phone page, a 办不成事 work order
//!   or an enterprise's key project; it is assigned to an agent, who must make first contact
//!   within one working day on the hall's calendar (R-FIRST-DAY: counted from the day after).
//! - A mandate names the principal (masked in views and logs, R-PII), the items and bundles it
//!   covers, the actions it allows, and its validity; a revoked or expired mandate, or an action
//!   outside its scope, is refused with a Chinese message that names what is missing.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::pii::{mask_id_number, mask_name};
use crate::supervision::Light;
use crate::workdays::WorkingDays;
use crate::{Error, Kind, Problems, Result};

#[cfg(test)]
mod tests;

crate::labelled_enum! {
    /// Where a help request came from.
    pub enum HelpSource {
        /// A ticket taken in the kiosk's 帮办代办 queue.
        Kiosk = ("kiosk", "取号机帮办代办"),
        /// The citizen's phone page.
        Phone = ("phone", "手机求助"),
        /// A 办不成事 work order handed to the agents.
        WorkOrder = ("work_order", "办不成事工单"),
        /// An enterprise's key project (重点项目全程代办).
        Project = ("project", "重点项目"),
    }
}

crate::labelled_enum! {
    /// Where a help request stands.
    pub enum HelpState {
        /// Waiting for an agent.
        Open = ("open", "待分派"),
        /// Assigned; first contact not yet made.
        Assigned = ("assigned", "待首次联系"),
        /// The agent has contacted the citizen and is accompanying the services.
        InService = ("in_service", "服务中"),
        /// Finished.
        Closed = ("closed", "已办结"),
    }
}

/// A help request as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpRequest {
    pub source: HelpSource,
    pub state: HelpState,
    /// The agent's account login, once assigned.
    pub agent: Option<String>,
    /// Local (Beijing) time the request was made.
    pub created_at: NaiveDateTime,
    pub first_contact_at: Option<NaiveDateTime>,
}

/// The code of a hall's 帮办代办 queue: a ticket taken in it opens a help request (source
/// [`HelpSource::Kiosk`]) so that an agent follows the visitor up, not only a window call.
pub const HELP_QUEUE: &str = "agency";

/// Working days an agent has for first contact.
pub const FIRST_CONTACT_WORKING_DAYS: i64 = 1;

impl HelpRequest {
    pub fn new(source: HelpSource, created_at: NaiveDateTime) -> Self {
        HelpRequest {
            source,
            state: HelpState::Open,
            agent: None,
            created_at,
            first_contact_at: None,
        }
    }

    /// The last day on which first contact is on time: the end of the first working day after
    /// the request (R-FIRST-DAY, R-WORKDAY).
    pub fn first_contact_due(&self, cal: &impl WorkingDays) -> NaiveDate {
        cal.add_working_days(self.created_at.date(), FIRST_CONTACT_WORKING_DAYS)
    }

    /// The light of the first-contact clock on `today`; `None` once contact was made or the
    /// request closed (nothing left to watch).
    pub fn first_contact_light(&self, cal: &impl WorkingDays, today: NaiveDate) -> Option<Light> {
        if self.first_contact_at.is_some() || self.state == HelpState::Closed {
            return None;
        }
        Some(Light::of(cal, today, self.first_contact_due(cal)))
    }

    /// Whether first contact (made at `at`) was on time.
    pub fn first_contact_on_time(&self, cal: &impl WorkingDays) -> Option<bool> {
        self.first_contact_at
            .map(|at| at.date() <= self.first_contact_due(cal))
    }

    pub fn assign(&mut self, agent: &str) -> Result<()> {
        let agent = agent.trim();
        if agent.is_empty() {
            return Err(Error::invalid("agent_required", "请选择帮办代办员"));
        }
        match self.state {
            HelpState::Open | HelpState::Assigned => {
                self.agent = Some(agent.to_string());
                self.state = HelpState::Assigned;
                Ok(())
            }
            _ => Err(Error::conflict(
                "help_request_not_assignable",
                format!("该求助当前状态为“{}”，不能再分派", self.state.label()),
            )),
        }
    }

    /// Records first contact by the assigned agent.
    pub fn contact(&mut self, agent: &str, at: NaiveDateTime) -> Result<()> {
        if self.state != HelpState::Assigned {
            return Err(Error::conflict(
                "help_request_not_awaiting_contact",
                format!("该求助当前状态为“{}”，无需记录首次联系", self.state.label()),
            ));
        }
        if self.agent.as_deref() != Some(agent) {
            return Err(Error::forbidden("只有被分派的帮办代办员可以记录首次联系"));
        }
        if at < self.created_at {
            return Err(Error::invalid(
                "contact_before_request",
                "首次联系时间不能早于求助时间",
            ));
        }
        self.first_contact_at = Some(at);
        self.state = HelpState::InService;
        Ok(())
    }

    pub fn close(&mut self) -> Result<()> {
        if self.state == HelpState::Closed {
            return Err(Error::conflict("help_request_closed", "该求助已办结"));
        }
        self.state = HelpState::Closed;
        Ok(())
    }
}

crate::labelled_enum! {
    /// What an agent may do for a principal under a mandate.
    pub enum MandateAction {
        /// 受理申请: file an application (a case or a bundle) for the principal.
        Apply = ("apply", "受理申请"),
        /// 补正: hand in supplementary materials.
        Supplement = ("supplement", "补正"),
        /// 领取结果: collect the result.
        Collect = ("collect", "领取结果"),
        /// 撤回申请: withdraw the application.
        Withdraw = ("withdraw", "撤回申请"),
    }
}

/// What an action is done on: an item (by its catalogue code) or a bundle (by its code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum MandateTarget {
    Item(String),
    Bundle(String),
}

/// A 授权委托书 as the rules need it. The document itself lies in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    /// The agent's account login.
    pub agent: String,
    pub principal_name: String,
    /// The principal's 公民身份号码 (full; views show [`Mandate::principal_masked`]).
    pub principal_id_number: String,
    /// Item codes covered.
    pub items: Vec<String>,
    /// Bundle codes covered.
    pub bundles: Vec<String>,
    pub actions: Vec<MandateAction>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub revoked_at: Option<NaiveDateTime>,
    /// The SHA-256 of the signed document in the vault; a mandate acts only once it is there.
    #[serde(default)]
    pub document: Option<String>,
}

impl Mandate {
    /// Checks a new mandate's fields; every problem is reported next to its field.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            !self.principal_name.trim().is_empty(),
            "principal_name",
            "请填写委托人姓名",
        );
        p.check(
            crate::identity::parse_id_number(&self.principal_id_number, today).is_ok(),
            "principal_id_number",
            "委托人公民身份号码不正确",
        );
        p.check(
            !(self.items.is_empty() && self.bundles.is_empty()),
            "scope",
            "请至少选择一个委托办理的事项或套餐",
        );
        p.check(
            !self.actions.is_empty(),
            "actions",
            "请至少选择一项委托权限（受理申请、补正、领取结果等）",
        );
        p.check(
            self.valid_until >= self.valid_from,
            "valid_until",
            "委托截止日期不能早于起始日期",
        );
        p.finish()
    }

    /// The principal as lists, timelines and logs show them (R-PII).
    pub fn principal_masked(&self) -> String {
        format!(
            "{}（{}）",
            mask_name(&self.principal_name),
            mask_id_number(&self.principal_id_number)
        )
    }

    /// The scope in words, e.g. `事项 A、套餐 B；权限：受理申请、补正`.
    pub fn scope_label(&self) -> String {
        let mut targets: Vec<String> = self.items.iter().map(|c| format!("事项 {c}")).collect();
        targets.extend(self.bundles.iter().map(|c| format!("套餐 {c}")));
        let actions: Vec<&str> = self.actions.iter().map(|a| a.label()).collect();
        format!("{}；权限：{}", targets.join("、"), actions.join("、"))
    }

    pub fn revoke(&mut self, at: NaiveDateTime) -> Result<()> {
        if self.revoked_at.is_some() {
            return Err(Error::conflict("mandate_revoked", "该授权委托书已撤销"));
        }
        self.revoked_at = Some(at);
        Ok(())
    }

    /// Whether `agent` may perform `action` on `target` for the principal identified by
    /// `principal_id_number` at `now`. Refusals are 403 with a message naming the scope.
    pub fn authorise(
        &self,
        agent: &str,
        principal_id_number: &str,
        target: &MandateTarget,
        action: MandateAction,
        now: NaiveDateTime,
    ) -> Result<()> {
        let refuse =
            |code: &'static str, title: String| Err(Error::new(Kind::Forbidden, code, title));
        if self.agent != agent {
            return refuse(
                "mandate_other_agent",
                "该授权委托书未委托给当前帮办代办员".to_string(),
            );
        }
        if !self
            .principal_id_number
            .trim()
            .eq_ignore_ascii_case(principal_id_number.trim())
        {
            return refuse(
                "mandate_other_principal",
                "申请人与授权委托书的委托人不一致".to_string(),
            );
        }
        if self.document.is_none() {
            return refuse(
                "mandate_document_missing",
                "该授权委托书尚未存入委托人签字的原件扫描件，不能代为办理".to_string(),
            );
        }
        if let Some(at) = self.revoked_at
            && at <= now
        {
            return refuse(
                "mandate_revoked",
                "该授权委托书已被委托人撤销，不能再代为办理".to_string(),
            );
        }
        let today = now.date();
        if today < self.valid_from {
            return refuse(
                "mandate_not_yet_valid",
                format!(
                    "该授权委托书自{}起生效，尚不能代为办理",
                    self.valid_from.format("%Y年%-m月%-d日")
                ),
            );
        }
        if today > self.valid_until {
            return refuse(
                "mandate_expired",
                format!(
                    "该授权委托书已于{}到期，不能再代为办理",
                    self.valid_until.format("%Y年%-m月%-d日")
                ),
            );
        }
        let covered = match target {
            MandateTarget::Item(code) => self.items.iter().any(|c| c == code),
            MandateTarget::Bundle(code) => self.bundles.iter().any(|c| c == code),
        };
        if !covered {
            let what = match target {
                MandateTarget::Item(code) => format!("事项 {code}"),
                MandateTarget::Bundle(code) => format!("套餐 {code}"),
            };
            return refuse(
                "mandate_outside_scope",
                format!(
                    "{what}不在授权委托范围内（委托范围：{}）",
                    self.scope_label()
                ),
            );
        }
        if !self.actions.contains(&action) {
            return refuse(
                "mandate_action_outside_scope",
                format!(
                    "授权委托书未授权“{}”（委托范围：{}）",
                    action.label(),
                    self.scope_label()
                ),
            );
        }
        Ok(())
    }
}

/// How a case event done for a principal reads in the timeline:
/// `代办员 张三 代 李*四（委托人）办理`.
pub fn on_behalf_label(agent_name: &str, principal_name: &str) -> String {
    format!(
        "代办员 {agent_name} 代 {}（委托人）办理",
        mask_name(principal_name)
    )
}

/// What a case or bundle event done under a mandate records beside its `by` (the agent): the
/// mandate and the principal, masked (R-PII: events go to the shared log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalf {
    /// The mandate's number (e.g. `WT202612040001`).
    pub mandate: String,
    /// The agent's display name.
    pub agent_name: String,
    /// The principal's name, masked.
    pub principal: String,
}

impl OnBehalf {
    /// After [`Mandate::authorise`] allowed it: the record an action for the principal carries.
    pub fn new(number: &str, agent_name: &str, m: &Mandate) -> OnBehalf {
        OnBehalf {
            mandate: number.to_string(),
            agent_name: agent_name.to_string(),
            principal: mask_name(&m.principal_name),
        }
    }

    /// `代办员 张三 代 李*英（委托人）办理` (the principal already masked).
    pub fn label(&self) -> String {
        format!(
            "代办员 {} 代 {}（委托人）办理",
            self.agent_name, self.principal
        )
    }
}

/// Whether `actor` may receive applications at the front desk: clerks, hall managers and
/// admins always; an agent only while acting for a principal under a mandate it was authorised
/// by (R-MANDATE: the agent files for the principal, never on its own).
pub fn require_front_desk(actor: &crate::Actor, what: &str) -> Result<()> {
    use crate::Role;
    if actor.role == Role::Agent {
        return match actor.on_behalf {
            Some(_) => Ok(()),
            None => Err(Error::new(
                Kind::Forbidden,
                "mandate_required",
                format!("帮办代办员须凭委托人的授权委托书才能代为{what}"),
            )),
        };
    }
    actor.require_role(&[Role::Clerk, Role::HallManager, Role::Admin], what)
}

/// Marks the events `actor` caused with the principal it acts for, if it acts for one.
pub fn stamp(events: &mut [crate::case::events::CaseEvent], actor: &crate::Actor) {
    let Some(ob) = &actor.on_behalf else { return };
    let by = actor.event_name();
    for e in events.iter_mut().filter(|e| e.by == by) {
        e.on_behalf_of = Some(ob.clone());
    }
}

/// Open help requests one phone number may have at once (the public page's limit: a helper's
/// time is scarce and the page is open to anyone).
pub const MAX_OPEN_PER_PHONE: i64 = 3;

/// Checks a help request asked for on the public phone page; every problem beside its field.
pub fn check_public_request(
    name: &str,
    phone: &str,
    need: &str,
    open_for_phone: i64,
) -> Result<()> {
    let mut p = Problems::new();
    let name_len = name.trim().chars().count();
    p.check(
        (1..=30).contains(&name_len),
        "citizen_name",
        "请填写您的称呼（30 字以内）",
    );
    p.check(
        crate::identity::parse_mobile(phone.trim()).is_ok(),
        "citizen_phone",
        "请填写 11 位手机号码，帮办代办员会打这个电话联系您",
    );
    p.check(
        (1..=500).contains(&need.trim().chars().count()),
        "need",
        "请简单说说要办什么事、需要什么帮助（500 字以内）",
    );
    p.check(
        open_for_phone < MAX_OPEN_PER_PHONE,
        "citizen_phone",
        "这个手机号已有 3 条求助正在办理，请等帮办代办员联系您",
    );
    p.finish()
}

/// A key project's milestone as entered: a title and the day it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestonePlan {
    pub title: String,
    pub due_on: NaiveDate,
}

/// Checks a key project (重点项目全程代办): its name, the enterprise and at least one milestone,
/// due in order and not in the past.
pub fn check_project(
    project: &str,
    enterprise: &str,
    milestones: &[MilestonePlan],
    today: NaiveDate,
) -> Result<()> {
    let mut p = Problems::new();
    p.check(
        (1..=100).contains(&project.trim().chars().count()),
        "project",
        "请填写项目名称",
    );
    p.check(
        (1..=100).contains(&enterprise.trim().chars().count()),
        "enterprise",
        "请填写企业名称",
    );
    p.check(
        (1..=30).contains(&milestones.len()),
        "milestones",
        "请至少列出一个节点（如 立项、用地、规划、施工许可），最多 30 个",
    );
    for (i, m) in milestones.iter().enumerate() {
        if m.title.trim().is_empty() {
            p.add(format!("milestones[{i}].title"), "请填写节点名称");
        }
        if m.due_on < today {
            p.add(
                format!("milestones[{i}].due_on"),
                "节点的计划完成日期不能早于今天",
            );
        }
        if i > 0 && m.due_on < milestones[i - 1].due_on {
            p.add(
                format!("milestones[{i}].due_on"),
                "节点应按计划完成日期先后排列",
            );
        }
    }
    p.finish()
}

/// The principal's rating of the agent (好差评 of the help service): 1–5 stars, once, and only
/// after the service was finished; a rating of 1 or 2 needs a word on what went wrong.
pub fn check_rating(state: HelpState, rated: bool, stars: u8, comment: &str) -> Result<()> {
    if state != HelpState::Closed {
        return Err(Error::conflict(
            "help_not_finished",
            "帮办代办服务办结后才能评价",
        ));
    }
    if rated {
        return Err(Error::conflict("help_rated", "您已评价过这次服务，谢谢"));
    }
    let mut p = Problems::new();
    p.check((1..=5).contains(&stars), "stars", "请选择 1 到 5 颗星");
    p.check(
        stars > 2 || !comment.trim().is_empty(),
        "comment",
        "请说说哪里不满意，我们会改进",
    );
    p.check(
        comment.chars().count() <= 500,
        "comment",
        "意见请在 500 字以内",
    );
    p.finish()
}
