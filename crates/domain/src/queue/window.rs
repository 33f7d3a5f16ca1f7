//! A window's session: open (someone signed in and serving), paused, or closed (nobody there).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    Open,
    Paused,
    Closed,
}

impl WindowStatus {
    pub const ALL: [WindowStatus; 3] = [
        WindowStatus::Open,
        WindowStatus::Paused,
        WindowStatus::Closed,
    ];

    /// The status as it is stored and the API names it (`paused`).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowStatus::Open => "open",
            WindowStatus::Paused => "paused",
            WindowStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<WindowStatus> {
        WindowStatus::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// The status as the hall's pages read it (not `open`/`closed`).
    pub fn label(self) -> &'static str {
        match self {
            WindowStatus::Open => "服务中",
            WindowStatus::Paused => "暂停",
            WindowStatus::Closed => "未开放",
        }
    }

    /// The status as the staff's home page offers the window (暂停服务).
    pub fn service_label(self) -> &'static str {
        match self {
            WindowStatus::Paused => "暂停服务",
            w => w.label(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_status_is_stored_under_the_name_serde_gives_it() {
        for s in WindowStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(WindowStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(WindowStatus::parse("busy"), None);
        assert_eq!(WindowStatus::Paused.service_label(), "暂停服务");
        assert_eq!(WindowStatus::Paused.label(), "暂停");
    }
}
