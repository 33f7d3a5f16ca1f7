//! Who did something, in words a person reads (issue 10 item 3): the event log records actors
//! as `role:username` (`Actor::event_name`), pages show the account's name (王芳), the
//! applicant's own action as 申请人本人 and the system's as 系统.

use std::collections::HashMap;

use yichuang_domain::Role;
use yichuang_domain::case::events::SYSTEM;
use yichuang_store::ratings::{self, Dim};

use crate::state::AppState;

/// The display names of the accounts, to name the actors of events.
#[derive(Debug, Clone, Default)]
pub struct People {
    names: HashMap<String, String>,
    departments: HashMap<String, String>,
    items: HashMap<String, String>,
}

impl People {
    pub async fn load(st: &AppState) -> Self {
        let of = |dim| async move {
            ratings::names(&st.db, dim)
                .await
                .unwrap_or_default()
                .into_iter()
                .collect::<HashMap<_, _>>()
        };
        People {
            names: of(Dim::Staff).await,
            departments: of(Dim::Department).await,
            items: of(Dim::Item).await,
        }
    }

    /// A department's name (市场监督管理局), its code only if it has none.
    pub fn department(&self, code: &str) -> String {
        self.departments
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// An item's name, its code only if it has none.
    pub fn item(&self, code: &str) -> String {
        self.items
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// The name of the actor recorded as `event_name` (`role:username` or `system`).
    pub fn who(&self, event_name: &str) -> String {
        if event_name.is_empty() {
            return String::new();
        }
        if event_name == SYSTEM {
            return "系统".into();
        }
        let (role, username) = event_name.split_once(':').unwrap_or(("", event_name));
        if role == SYSTEM {
            return "系统".into();
        }
        // The actors the server acts as on a person's behalf (cases::my, online, bundles,
        // work_orders::ledger): no account stands behind them.
        match username {
            "phone" => return "申请人本人".into(),
            "online" => return "网上办事大厅".into(),
            "bundle" => return "一件事联办".into(),
            "supervision" => return "电子监察".into(),
            _ => {}
        }
        if let Some(n) = self.names.get(username) {
            return n.clone();
        }
        Role::parse(role).map_or_else(|| "工作人员".into(), |r| r.label().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::People;

    #[test]
    fn an_actor_is_named_by_the_accounts_name_never_by_role_and_username() {
        let p = People {
            names: [("wangfang".to_string(), "王芳".to_string())].into(),
            ..People::default()
        };
        assert_eq!(p.who("clerk:wangfang"), "王芳");
        assert_eq!(p.who("clerk:phone"), "申请人本人");
        assert_eq!(p.who("system"), "系统");
        assert_eq!(p.who("system:seed"), "系统");
        assert!(!p.who("approver:gone").contains(':'));
    }
}
