//! Who may do what. Roles come from GLOSSARY.md; every account belongs to a department and/or a
//! hall, which limits what it sees and changes (its scope). Pure functions, tested on their own.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    HallManager,
    Clerk,
    Approver,
    Issuance,
    Agent,
    Callback,
    Supervisor,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::HallManager,
        Role::Clerk,
        Role::Approver,
        Role::Issuance,
        Role::Agent,
        Role::Callback,
        Role::Supervisor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::HallManager => "hall_manager",
            Role::Clerk => "clerk",
            Role::Approver => "approver",
            Role::Issuance => "issuance",
            Role::Agent => "agent",
            Role::Callback => "callback",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Hall-bound roles work at one hall's windows and queues, so their accounts must name the
    /// hall (a clerk at a specialist window may name its department too).
    pub fn needs_hall(self) -> bool {
        matches!(
            self,
            Role::HallManager | Role::Clerk | Role::Issuance | Role::Agent
        )
    }

    /// Department-bound roles review cases in one department's back office, so their accounts
    /// must name the department. Admins, supervisors and callback staff may serve many halls
    /// (a city's callback centre phones the applicants of every hall), so for them both codes
    /// are optional.
    pub fn needs_department(self) -> bool {
        matches!(self, Role::Approver)
    }

    /// The roles a hall manager may create and edit, inside its own hall only.
    pub fn managed_by_hall_manager(self) -> bool {
        matches!(
            self,
            Role::Clerk | Role::Issuance | Role::Agent | Role::Callback
        )
    }

    /// The valid values, for error messages: `admin（系统管理员）、…`.
    pub fn choices() -> String {
        Role::ALL
            .iter()
            .map(|r| format!("{}（{}）", r.as_str(), r.label()))
            .collect::<Vec<_>>()
            .join("、")
    }

    /// The name users see.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::HallManager => "大厅管理员",
            Role::Clerk => "窗口工作人员",
            Role::Approver => "审批人员",
            Role::Issuance => "出件人员",
            Role::Agent => "帮办代办员",
            Role::Callback => "回访员",
            Role::Supervisor => "监督人员",
        }
    }
}

/// The role and scope an account has, or would have after a change: what the rules of who may
/// manage whom look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountScope<'a> {
    pub role: Role,
    pub department: Option<&'a str>,
    pub hall: Option<&'a str>,
}

/// Who an [`Actor`] is: a signed-in account, or one of the actors no account stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in with an account (`Actor::id` is the account's id).
    #[default]
    Person,
    /// The applicant acting on their phone (`/my`): a supplement, a locker drop-off.
    Applicant,
    /// The 网上办事大厅's inbox, which receives online applications.
    OnlineDesk,
    /// 一件事联办: receives a bundle's later members on the parent's behalf.
    BundleDesk,
    /// The system itself: timers and 电子监察.
    System,
}

impl ActorKind {
    pub fn is_person(&self) -> bool {
        *self == ActorKind::Person
    }
}

/// Who makes a request or causes an event: a signed-in account, or (see [`ActorKind`]) the
/// applicant, a desk or the system. The latter have no account (`id` 0, see
/// [`Actor::account_id`]); they carry the front-desk role the case engine asks of whoever
/// receives, and keep the event names stored events already use (`clerk:phone`, `clerk:online`,
/// `clerk:bundle`, `supervisor:supervision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Department code the account belongs to, if any.
    pub department: Option<String>,
    /// Hall code the account belongs to, if any.
    pub hall: Option<String>,
    /// A supervisor's region, if the account is limited to one.
    #[serde(default)]
    pub region: Option<String>,
    /// The halls of that region and below, resolved when the actor signs in: what a
    /// region-scoped supervisor may see. `None`: not limited by region.
    #[serde(default)]
    pub scope_halls: Option<Vec<String>>,
    /// Set while an agent (代办员) acts for a principal under a mandate (授权委托书): every
    /// case event the actor causes then records both (see `agency::OnBehalf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf: Option<crate::agency::OnBehalf>,
    /// Who this is (a person unless built by one of the constructors below).
    #[serde(default, skip_serializing_if = "ActorKind::is_person")]
    pub kind: ActorKind,
}

impl Actor {
    fn without_account(
        kind: ActorKind,
        username: &str,
        display_name: &str,
        role: Role,
        hall: Option<String>,
    ) -> Actor {
        Actor {
            id: 0,
            username: username.into(),
            display_name: display_name.into(),
            role,
            department: None,
            hall,
            region: None,
            scope_halls: None,
            on_behalf: None,
            kind,
        }
    }

    /// The applicant on their phone, in the case's hall (a supplement given on the phone is
    /// received there). Recorded as `clerk:phone`.
    pub fn applicant(hall: Option<String>) -> Actor {
        Actor::without_account(
            ActorKind::Applicant,
            "phone",
            "申请人（手机）",
            Role::Clerk,
            hall,
        )
    }

    /// The 网上办事大厅's inbox that signs online receipts. Recorded as `clerk:online`.
    pub fn online_desk() -> Actor {
        Actor::without_account(
            ActorKind::OnlineDesk,
            "online",
            "网上办事大厅",
            Role::Clerk,
            None,
        )
    }

    /// 一件事联办: receives a bundle's later members (the parent's receipt covered them).
    /// Recorded as `clerk:bundle`.
    pub fn bundle_desk(hall: Option<String>) -> Actor {
        Actor::without_account(
            ActorKind::BundleDesk,
            "bundle",
            "一件事联办",
            Role::Clerk,
            hall,
        )
    }

    /// The system acting under `name` with the powers of `role` (电子监察 files ledger
    /// entries as `supervisor:supervision`).
    pub fn system(name: &str, display_name: &str, role: Role, hall: Option<String>) -> Actor {
        Actor::without_account(ActorKind::System, name, display_name, role, hall)
    }

    /// The account behind the actor; none for the applicant, a desk or the system.
    pub fn account_id(&self) -> Option<i64> {
        self.kind.is_person().then_some(self.id)
    }
}

impl Actor {
    /// The name written into events as `actor`.
    pub fn event_name(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.username)
    }

    pub fn require_role(&self, allowed: &[Role], what: &str) -> Result<()> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "当前账号（{}）无权{}",
                self.role.label(),
                what
            )))
        }
    }

    /// Catalogue edits: admins anywhere; a department's own staff may not rewrite the standard
    /// catalogue (it is the single source of every guide), so only admins edit it.
    pub fn require_catalogue_editor(&self) -> Result<()> {
        self.require_role(&[Role::Admin], "修改事项目录")
    }

    /// A department-bound account may act only within its own department.
    pub fn require_department(&self, department: &str, what: &str) -> Result<()> {
        match (&self.role, &self.department) {
            (Role::Admin | Role::Supervisor, _) => Ok(()),
            (_, Some(d)) if d == department => Ok(()),
            _ => Err(Error::forbidden(format!("只能{}本部门的业务", what))),
        }
    }

    /// Whether a region-scoped account may see this hall at all.
    pub fn sees_hall(&self, hall: &str) -> bool {
        self.scope_halls
            .as_ref()
            .is_none_or(|halls| halls.iter().any(|h| h == hall))
    }

    /// A hall-bound account may act only within its own hall; a supervisor only within its
    /// region, when it has one.
    pub fn require_hall(&self, hall: &str, what: &str) -> Result<()> {
        match (&self.role, &self.hall) {
            (Role::Supervisor, _) if !self.sees_hall(hall) => {
                Err(Error::forbidden(format!("只能{}本区域的大厅", what)))
            }
            (Role::Admin | Role::Supervisor, _) => Ok(()),
            (_, Some(h)) if h == hall => Ok(()),
            _ => Err(Error::forbidden(format!("只能{}本大厅的业务", what))),
        }
    }

    /// Only admins and hall managers manage accounts at all.
    pub fn require_account_manager(&self) -> Result<()> {
        self.require_role(&[Role::Admin, Role::HallManager], "管理账号")
    }

    /// An admin manages every account; a hall manager manages the clerk, issuance, agent and
    /// callback accounts of its own hall and nothing else.
    pub fn require_may_manage(&self, target: AccountScope<'_>) -> Result<()> {
        self.require_account_manager()?;
        if self.role == Role::Admin {
            return Ok(());
        }
        if !target.role.managed_by_hall_manager() {
            return Err(Error::forbidden(format!(
                "大厅管理员只能管理窗口工作人员、出件人员、帮办代办员和回访员账号，不能管理{}账号",
                target.role.label()
            )));
        }
        match (self.hall.as_deref(), target.hall) {
            (Some(mine), Some(theirs)) if mine == theirs => Ok(()),
            _ => Err(Error::forbidden("大厅管理员只能管理本大厅的账号")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn actor(role: Role, hall: Option<&str>) -> Actor {
        Actor {
            id: 1,
            username: "someone".into(),
            display_name: "某人".into(),
            role,
            department: None,
            hall: hall.map(str::to_string),
            region: None,
            scope_halls: None,
            on_behalf: None,
            kind: ActorKind::Person,
        }
    }

    #[test]
    fn the_applicant_a_desk_and_the_system_are_actors_without_an_account_under_their_old_names() {
        let a = Actor::applicant(Some("H1".into()));
        assert_eq!(a.kind, ActorKind::Applicant);
        assert_eq!(a.account_id(), None);
        assert_eq!(a.event_name(), "clerk:phone");
        assert_eq!(a.hall.as_deref(), Some("H1"));
        assert_eq!(Actor::online_desk().event_name(), "clerk:online");
        assert_eq!(Actor::online_desk().kind, ActorKind::OnlineDesk);
        assert_eq!(Actor::bundle_desk(None).event_name(), "clerk:bundle");
        let s = Actor::system("supervision", "电子监察", Role::Supervisor, None);
        assert_eq!(s.kind, ActorKind::System);
        assert_eq!(s.event_name(), "supervisor:supervision");
        assert_eq!(actor(Role::Clerk, None).account_id(), Some(1));
    }

    #[test]
    fn a_persons_actor_serialises_as_before_and_reads_back_as_a_person() {
        let p = actor(Role::Clerk, None);
        let v = serde_json::to_value(&p).unwrap();
        assert!(v.get("kind").is_none());
        assert_eq!(
            serde_json::from_value::<Actor>(v).unwrap().kind,
            ActorKind::Person
        );
        let a = serde_json::to_value(Actor::applicant(None)).unwrap();
        assert_eq!(a["kind"], "applicant");
    }

    fn scope(role: Role, hall: Option<&'static str>) -> AccountScope<'static> {
        AccountScope {
            role,
            department: None,
            hall,
        }
    }

    #[test]
    fn an_admin_manages_every_account_of_every_hall() {
        let admin = actor(Role::Admin, None);
        for role in Role::ALL {
            assert!(admin.require_may_manage(scope(role, Some("H2"))).is_ok());
            assert!(admin.require_may_manage(scope(role, None)).is_ok());
        }
    }

    #[test]
    fn a_hall_manager_manages_front_line_accounts_of_its_own_hall() {
        let m = actor(Role::HallManager, Some("H1"));
        for role in [Role::Clerk, Role::Issuance, Role::Agent, Role::Callback] {
            assert!(
                m.require_may_manage(scope(role, Some("H1"))).is_ok(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn a_hall_manager_cannot_touch_another_halls_accounts() {
        let m = actor(Role::HallManager, Some("H1"));
        let e = m
            .require_may_manage(scope(Role::Clerk, Some("H2")))
            .unwrap_err();
        assert_eq!(e.kind, Kind::Forbidden);
        assert!(e.title.contains("本大厅"), "{}", e.title);
        // A callback account serving no particular hall is not a hall manager's to manage.
        assert!(m.require_may_manage(scope(Role::Callback, None)).is_err());
    }

    #[test]
    fn a_hall_manager_without_a_hall_manages_nobody() {
        let m = actor(Role::HallManager, None);
        assert!(m.require_may_manage(scope(Role::Clerk, None)).is_err());
    }

    #[test]
    fn a_hall_manager_cannot_create_admins_managers_approvers_or_supervisors() {
        let m = actor(Role::HallManager, Some("H1"));
        for role in [
            Role::Admin,
            Role::HallManager,
            Role::Approver,
            Role::Supervisor,
        ] {
            let e = m.require_may_manage(scope(role, Some("H1"))).unwrap_err();
            assert_eq!(e.kind, Kind::Forbidden);
            assert!(e.title.contains(role.label()), "{}", e.title);
        }
    }

    #[test]
    fn other_roles_may_not_manage_accounts_and_are_told_so_in_chinese() {
        for role in [
            Role::Clerk,
            Role::Approver,
            Role::Issuance,
            Role::Agent,
            Role::Callback,
            Role::Supervisor,
        ] {
            let e = actor(role, Some("H1"))
                .require_may_manage(scope(Role::Clerk, Some("H1")))
                .unwrap_err();
            assert_eq!(e.kind, Kind::Forbidden);
            assert_eq!(e.title, format!("当前账号（{}）无权管理账号", role.label()));
        }
    }

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
