//! Staff accounts as data: what a valid username, display name, password and profile (role and
//! scope) are, and who may change whose profile. Pure; the server hashes and stores.

use serde::Serialize;

use crate::access::AccountScope;
use crate::{Actor, Error, Problems, Result, Role};

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Argon2 costs the same for any length, but a megabyte "password" is not one anybody types.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// What an administrator edits about an account: everything but its name and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub display_name: String,
    pub role: Role,
    /// Department code (departments are built elsewhere; kept as text, no foreign key).
    pub department: Option<String>,
    /// Hall code (likewise).
    pub hall: Option<String>,
    /// Region code: a supervisor sees the halls of this region and below (R-SUPERVISE).
    pub region: Option<String>,
    pub active: bool,
}

impl Profile {
    pub fn scope(&self) -> AccountScope<'_> {
        AccountScope {
            role: self.role,
            department: self.department.as_deref(),
            hall: self.hall.as_deref(),
        }
    }
}

/// A profile as typed into a form or a JSON body, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub display_name: String,
    pub role: String,
    pub department: Option<String>,
    pub hall: Option<String>,
    pub region: Option<String>,
    pub active: bool,
}

/// Usernames compare case-insensitively: `ZhangSan` and `zhangsan` are one account.
pub fn normalize_username(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Adds the problems of a (normalised) username.
pub fn check_username(username: &str, p: &mut Problems) {
    let n = username.chars().count();
    if n == 0 {
        p.add("username", "请填写用户名");
    } else if !(3..=32).contains(&n) {
        p.add("username", "用户名长度应为 3 到 32 个字符");
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        p.add(
            "username",
            "用户名只能使用英文字母、数字和 . _ -（例如 zhangsan01）",
        );
    } else if !username.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        p.add("username", "用户名应以字母或数字开头");
    }
}

/// Passwords too common to allow, lower-case (NIST SP 800-63B: check against known lists),
/// the demo's published passwords among them.
const COMMON_PASSWORDS: &str = include_str!("accounts_data/common_passwords.txt");

/// Whether a password is on the list of common ones (compared lower-case).
pub fn is_common_password(password: &str) -> bool {
    let pw = password.to_lowercase();
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == pw)
}

/// Adds the problems of a new password under `field`: its length (8 to 128 characters; length
/// protects, composition rules do not, as NIST SP 800-63B says), not a common password, not
/// the username or built from it.
pub fn check_password(password: &str, username: &str, field: &str, p: &mut Problems) {
    let n = password.chars().count();
    let pw = password.to_lowercase();
    let user = username.trim().to_lowercase();
    if n == 0 {
        p.add(field, "请填写密码");
    } else if n < PASSWORD_MIN_CHARS {
        p.add(field, format!("密码至少需要 {PASSWORD_MIN_CHARS} 个字符"));
    } else if n > PASSWORD_MAX_CHARS {
        p.add(field, format!("密码不能超过 {PASSWORD_MAX_CHARS} 个字符"));
    } else if is_common_password(password) {
        p.add(field, "这是常见密码或公开的示范密码，容易被猜中，请换一个");
    } else if user.chars().count() >= 3 && (pw.contains(&user) || user.contains(&pw)) {
        p.add(field, "密码不能包含用户名，请换一个");
    } else if pw.chars().all(|c| pw.starts_with(c)) {
        p.add(field, "密码不能由同一个字符重复组成");
    }
}

/// The length rule alone: for the demo's own accounts, whose published password is the point.
pub fn check_password_length(password: &str, field: &str, p: &mut Problems) {
    let n = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
        p.add(
            field,
            format!("密码应为 {PASSWORD_MIN_CHARS} 至 {PASSWORD_MAX_CHARS} 个字符"),
        );
    }
}

/// A department or hall code: trimmed; empty means none.
fn code(field: &str, v: Option<&str>, p: &mut Problems) -> Option<String> {
    let v = v.map(str::trim).filter(|s| !s.is_empty())?;
    if v.chars().count() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        p.add(
            field,
            "编码只能使用英文字母、数字和 . _ -，且不超过 64 个字符",
        );
    }
    Some(v.to_string())
}

/// Checks a profile as typed. Every problem is collected into `p`; the profile is returned only
/// when the role could be read (the scope rules depend on it).
pub fn parse_profile(input: &ProfileInput, p: &mut Problems) -> Option<Profile> {
    let display_name = input.display_name.trim().to_string();
    let n = display_name.chars().count();
    if n == 0 {
        p.add("display_name", "请填写姓名");
    } else if n > 32 || display_name.chars().any(char::is_control) {
        p.add("display_name", "姓名不能超过 32 个字符，且不能含控制字符");
    }
    let department = code("department", input.department.as_deref(), p);
    let hall = code("hall", input.hall.as_deref(), p);
    let region = code("region", input.region.as_deref(), p);
    let role_text = input.role.trim();
    let Some(role) = Role::parse(role_text) else {
        if role_text.is_empty() {
            p.add("role", "请选择角色");
        } else {
            p.add(
                "role",
                format!("角色“{role_text}”无效，应为：{}", Role::choices()),
            );
        }
        return None;
    };
    if role.needs_hall() && hall.is_none() {
        p.add(
            "hall",
            format!("{}账号必须属于一个大厅，请填写大厅编码", role.label()),
        );
    }
    if role.needs_department() && department.is_none() {
        p.add(
            "department",
            format!("{}账号必须属于一个部门，请填写部门编码", role.label()),
        );
    }
    if region.is_some() && role != Role::Supervisor {
        p.add("region", "只有监督人员账号按区域限定范围");
    }
    Some(Profile {
        display_name,
        role,
        department,
        hall,
        region,
        active: input.active,
    })
}

/// A new account: checks the username, the profile and (when the creator chose one) the
/// password, all at once. Returns the normalised username and the profile.
pub fn check_new_account(
    username: &str,
    input: &ProfileInput,
    password: Option<&str>,
) -> Result<(String, Profile)> {
    let mut p = Problems::new();
    let username = normalize_username(username);
    check_username(&username, &mut p);
    let profile = parse_profile(input, &mut p);
    if let Some(pw) = password {
        check_password(pw, &username, "password", &mut p);
    }
    p.finish()?;
    let profile = profile.ok_or_else(|| Error::internal("profile missing without a problem"))?;
    Ok((username, profile))
}

/// Whether `actor` may change the profile of `username` from `before` to `after`: it must be
/// allowed to manage both (a hall manager can neither take a clerk from another hall nor give
/// its clerk to another hall), and nobody may demote or deactivate themselves (the last admin
/// would lock everyone out).
pub fn authorize_profile_change(
    actor: &Actor,
    username: &str,
    before: &Profile,
    after: &Profile,
) -> Result<()> {
    actor.require_may_manage(before.scope())?;
    actor.require_may_manage(after.scope())?;
    if actor.username == username {
        if after.role != before.role {
            return Err(Error::forbidden("不能修改自己的角色，请由其他管理员操作"));
        }
        if before.active && !after.active {
            return Err(Error::forbidden("不能停用自己的账号"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn input(role: &str, department: Option<&str>, hall: Option<&str>) -> ProfileInput {
        ProfileInput {
            display_name: "张三".into(),
            role: role.into(),
            department: department.map(str::to_string),
            hall: hall.map(str::to_string),
            region: None,
            active: true,
        }
    }

    fn fields(e: &Error) -> Vec<&str> {
        e.fields.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn a_valid_new_account_is_normalised() {
        let (u, p) = check_new_account(
            "  ZhangSan01 ",
            &input("clerk", None, Some(" H1 ")),
            Some("Desk-2026-xy"),
        )
        .unwrap();
        assert_eq!(u, "zhangsan01");
        assert_eq!(p.role, Role::Clerk);
        assert_eq!(p.hall.as_deref(), Some("H1"));
        assert_eq!(p.department, None);
    }

    #[test]
    fn an_unknown_role_is_a_field_error_that_lists_the_valid_roles() {
        let e = check_new_account("lisi", &input("root", None, None), None).unwrap_err();
        assert_eq!(e.kind, Kind::Invalid);
        assert_eq!(fields(&e), ["role"]);
        assert!(e.fields[0].message.contains("hall_manager（大厅管理员）"));
    }

    #[test]
    fn hall_bound_roles_need_a_hall() {
        for role in ["clerk", "issuance", "agent", "hall_manager"] {
            let e = check_new_account("lisi", &input(role, Some("D1"), None), None).unwrap_err();
            assert_eq!(fields(&e), ["hall"], "{role}");
            assert!(e.fields[0].message.contains("大厅"));
        }
    }

    #[test]
    fn an_approver_needs_a_department() {
        let e = check_new_account("lisi", &input("approver", None, Some("H1")), None).unwrap_err();
        assert_eq!(fields(&e), ["department"]);
        assert!(check_new_account("lisi", &input("approver", Some("D1"), None), None).is_ok());
    }

    #[test]
    fn admins_supervisors_and_callback_staff_need_no_scope() {
        for role in ["admin", "supervisor", "callback"] {
            assert!(check_new_account("lisi", &input(role, None, None), None).is_ok());
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut i = input("clerk", Some("bad code"), None);
        i.display_name = " ".into();
        let e = check_new_account("x", &i, Some("short")).unwrap_err();
        assert_eq!(
            fields(&e),
            ["username", "display_name", "department", "hall", "password"]
        );
    }

    #[test]
    fn usernames_use_plain_letters_digits_and_few_marks() {
        for bad in ["张三", "a b", "ab", "-abc", &"a".repeat(33)] {
            let mut p = Problems::new();
            check_username(&normalize_username(bad), &mut p);
            assert!(!p.is_empty(), "{bad} should be refused");
        }
        let mut p = Problems::new();
        check_username("zhang.san_01-x", &mut p);
        assert!(p.is_empty());
    }

    #[test]
    fn a_password_needs_length_and_must_not_be_common_or_the_username() {
        let msg = |pw: &str, user: &str| {
            let mut p = Problems::new();
            check_password(pw, user, "new", &mut p);
            p.finish().err().map(|e| e.fields[0].message.clone())
        };
        assert!(msg("", "zhangsan").unwrap().contains("请填写"));
        assert!(msg("ab1", "zhangsan").unwrap().contains("至少需要 8"));
        assert!(
            msg(&"x".repeat(200), "zhangsan")
                .unwrap()
                .contains("不能超过")
        );
        for common in [
            "password1",
            "abc12345",
            "Demo-2026",
            "12345678",
            "QWERTY123",
        ] {
            assert!(
                msg(common, "zhangsan").unwrap().contains("常见密码"),
                "{common}"
            );
        }
        assert!(msg("zhangsan2026", "zhangsan").unwrap().contains("用户名"));
        assert!(msg("ZhangSan", "zhangsan").unwrap().contains("用户名"));
        assert!(
            msg("aaaaaaaaaa", "zhangsan")
                .unwrap()
                .contains("同一个字符")
        );
        // Length, not composition: letters alone or a Chinese phrase are fine.
        assert_eq!(msg("correct horse battery", "zhangsan"), None);
        assert_eq!(msg("政务服务2026年", "zhangsan"), None);
        assert_eq!(msg("yunling-hall-desk", "zhangsan"), None);
    }

    fn admin(username: &str) -> Actor {
        Actor {
            id: 1,
            username: username.into(),
            display_name: "管理员".into(),
            role: Role::Admin,
            department: None,
            hall: None,
            region: None,
            scope_halls: None,
            on_behalf: None,
            kind: crate::ActorKind::Person,
        }
    }

    fn profile(role: Role, hall: Option<&str>, active: bool) -> Profile {
        Profile {
            display_name: "某人".into(),
            role,
            department: None,
            hall: hall.map(str::to_string),
            region: None,
            active,
        }
    }

    #[test]
    fn nobody_may_demote_or_deactivate_themselves() {
        let a = admin("admin");
        let me = profile(Role::Admin, None, true);
        let e = authorize_profile_change(&a, "admin", &me, &profile(Role::Clerk, Some("H1"), true))
            .unwrap_err();
        assert!(e.title.contains("自己的角色"));
        let e = authorize_profile_change(&a, "admin", &me, &profile(Role::Admin, None, false))
            .unwrap_err();
        assert!(e.title.contains("停用自己"));
        let mut renamed = me.clone();
        renamed.display_name = "新名字".into();
        assert!(authorize_profile_change(&a, "admin", &me, &renamed).is_ok());
        assert!(
            authorize_profile_change(&a, "other", &me, &profile(Role::Admin, None, false)).is_ok()
        );
    }

    #[test]
    fn a_hall_manager_cannot_move_its_clerk_to_another_hall_or_promote_it() {
        let m = Actor {
            role: Role::HallManager,
            hall: Some("H1".into()),
            ..admin("manager")
        };
        let clerk = profile(Role::Clerk, Some("H1"), true);
        assert!(
            authorize_profile_change(&m, "c", &clerk, &profile(Role::Clerk, Some("H2"), true))
                .is_err()
        );
        assert!(
            authorize_profile_change(
                &m,
                "c",
                &clerk,
                &profile(Role::HallManager, Some("H1"), true)
            )
            .is_err()
        );
        assert!(
            authorize_profile_change(&m, "c", &clerk, &profile(Role::Issuance, Some("H1"), false))
                .is_ok()
        );
    }
}
