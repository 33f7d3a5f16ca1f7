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

/// The signed-in account making a request.
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

    /// A hall-bound account may act only within its own hall.
    pub fn require_hall(&self, hall: &str, what: &str) -> Result<()> {
        match (&self.role, &self.hall) {
            (Role::Admin | Role::Supervisor, _) => Ok(()),
            (_, Some(h)) if h == hall => Ok(()),
            _ => Err(Error::forbidden(format!("只能{}本大厅的业务", what))),
        }
    }
}
