//! `/login`, `POST /logout`, `/account`, `/admin/accounts`, and the page guard other areas use
//! ([`require_page_actor`]).
//!
//! The forms post with the session cookie, which is `SameSite=Lax`: a browser does not send it
//! with a POST from another site, so these forms cannot be submitted on a user's behalf by
//! someone else's page.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yichuang_domain::accounts::ProfileInput;
use yichuang_domain::{Actor, Error, Kind, Role};

use super::manage::{self, AccountView, NewAccount, Operator, ProfilePatch};
use super::{ClientAddress, RequestToken, session_cookie, sessions};
use crate::auth::MaybeActor;
use crate::error::status_of;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/account", get(account_page))
        .route("/account/password", post(password_submit))
        .route("/admin/accounts", get(admin_page).post(admin_create))
        .route(
            "/admin/accounts/{username}/reset-password",
            post(admin_reset),
        )
        .route("/admin/accounts/{username}/active", post(admin_active))
}

// --- the guard for every area's pages --------------------------------------------------------

/// For the pages of any area: the signed-in actor if its role is one of `roles` (any role when
/// `roles` is empty); otherwise the response to send instead — a redirect to
/// `/login?next=<this page>` when nobody is signed in (the login page comes back here), a 403
/// page naming the role when the role does not fit.
///
/// ```text
/// async fn page(MaybeActor(a): MaybeActor, OriginalUri(uri): OriginalUri) -> accounts::Page {
///     let actor = require_page_actor(a, &uri, &[Role::Admin, Role::HallManager])?;
///     …
///     Ok(render(&MyPage { layout: Layout::new("标题", Some(actor)), … }))
/// }
/// ```
// The error is the page to send as it is; boxing it would only add a step to every caller.
#[allow(clippy::result_large_err)]
pub fn require_page_actor(
    actor: Option<Actor>,
    uri: &Uri,
    roles: &[Role],
) -> Result<Actor, Response> {
    let Some(actor) = actor else {
        return Err(Redirect::to(&login_href(uri)).into_response());
    };
    if roles.is_empty() || roles.contains(&actor.role) {
        return Ok(actor);
    }
    let message = format!("当前账号（{}）无权访问此页面", actor.role.label());
    Err(forbidden_page(Some(actor), uri, message))
}

/// A 403 page with `message`, offering to sign in with another account.
pub fn forbidden_page(actor: Option<Actor>, uri: &Uri, message: String) -> Response {
    let mut r = render(&ForbiddenPage {
        layout: Layout::new("无权访问", actor),
        message,
        switch_href: login_href(uri),
    });
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage {
    layout: Layout,
    message: String,
    switch_href: String,
}

/// `/login?next=<path and query of uri>`.
fn login_href(uri: &Uri) -> String {
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("/login?next={}", percent_encode(here))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: only a path on this site. `//evil.example` and `/\evil` are
/// read by browsers as other hosts, so they (and anything else) fall back to the home page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// What a guarded page handler returns: the page, or what [`require_page_actor`] sent instead.
pub type Page = Result<Response, Response>;

// --- form errors -----------------------------------------------------------------------------

/// An error as a form shows it: a message at the top and one next to each named field.
#[derive(Default)]
pub struct FormErrors {
    pub general: Option<String>,
    fields: Vec<(String, String)>,
}

impl FormErrors {
    pub fn of(e: &Error) -> FormErrors {
        let fields = e
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.message.clone()))
            .collect();
        FormErrors {
            general: Some(e.title.clone()),
            fields,
        }
    }

    /// Like [`FormErrors::of`], and an error that names no field is also shown next to
    /// `field`, the one the user should change.
    pub fn at(e: &Error, field: &str) -> FormErrors {
        let mut f = FormErrors::of(e);
        if f.fields.is_empty() {
            f.fields.push((field.to_string(), e.title.clone()));
        }
        f
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// Renders a form `page`, with the status that fits the error it shows (422, 401, 403, 429…).
pub fn render_form<T: Template>(page: &T, error: Option<&Error>) -> Response {
    let mut r = render(page);
    if let Some(e) = error {
        *r.status_mut() = match e.kind {
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            k => status_of(k),
        };
    }
    r
}

// --- sign in and out -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(MaybeActor(actor): MaybeActor, Query(q): Query<NextQuery>) -> Response {
    render(&LoginPage {
        layout: Layout::new("工作人员登录", actor),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: String,
    next: String,
}

async fn login_submit(
    State(st): State<AppState>,
    ClientAddress(address): ClientAddress,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(Some(&f.next));
    match sessions::login(&st, &f.username, &f.password, &address).await {
        Ok(s) => {
            // With no page asked for, each role lands on its own workstation (issue 10
            // item 4).
            let to = if s.weak_password {
                "/account?weak=1".to_string()
            } else if next == "/" {
                crate::pages::home::home_of(&st, &s.actor).await
            } else {
                next
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(Some(&s.token)));
            r
        }
        Err(e) => {
            let mut errors = FormErrors::of(&e);
            // "Wrong username or password" belongs next to the password the user retypes.
            if e.kind == Kind::Unauthorized {
                errors.fields.push(("password".into(), e.title.clone()));
                errors.general = None;
            }
            let page = LoginPage {
                layout: Layout::new("工作人员登录", None),
                next,
                username: f.username,
                errors,
            };
            render_form(&page, Some(&e))
        }
    }
}

async fn logout(
    State(st): State<AppState>,
    RequestToken(token): RequestToken,
    MaybeActor(actor): MaybeActor,
) -> Response {
    if let Err(e) = sessions::logout(&st, token.as_deref(), actor.as_ref()).await {
        tracing::warn!(code = %e.code, "logout from a page failed");
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None));
    r
}

// --- my account ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    account: AccountView,
    notice: Option<String>,
    errors: FormErrors,
    password_changed_text: String,
    /// Wrong passwords typed for this account in the last seven days (when, from where): the
    /// owner is told of a guess, which only slows down and never locks them out.
    failed_logins: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneQuery {
    done: Option<String>,
    username: Option<String>,
    weak: Option<String>,
}

async fn account_page_with(
    st: &AppState,
    actor: Actor,
    notice: Option<String>,
    error: Option<&Error>,
) -> Response {
    let account = match manage::find_visible(&st.db, &actor, &actor.username)
        .await
        .and_then(|a| AccountView::of(&a))
    {
        Ok(a) => a,
        Err(e) => return crate::error::Problem(e).into_response(),
    };
    let since = st.now() - chrono::Duration::days(7);
    let failed_logins = yichuang_store::events::recent_of_kind(
        &st.db,
        ("account", &actor.username),
        "login_failed",
        since,
        20,
    )
    .await
    .unwrap_or_default()
    .iter()
    .map(|e| {
        let address = serde_json::from_str::<serde_json::Value>(&e.payload)
            .ok()
            .and_then(|v| v["address"].as_str().map(str::to_string))
            .unwrap_or_default();
        (crate::ratings::views::chinese_time(e.at), address)
    })
    .collect();
    let password_changed_text = manage::find_visible(&st.db, &actor, &actor.username)
        .await
        .map(|a| crate::ratings::views::chinese_time(a.password_changed_at))
        .unwrap_or_default();
    let page = AccountPage {
        layout: Layout::new("我的账号", Some(actor)),
        account,
        notice,
        errors: error.map(FormErrors::of).unwrap_or_default(),
        password_changed_text,
        failed_logins,
    };
    render_form(&page, error)
}

async fn account_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<DoneQuery>,
) -> Page {
    let actor = require_page_actor(actor, &uri, &[])?;
    let notice = match (q.done.as_deref(), q.weak) {
        (Some("password"), _) => Some("密码已修改".to_string()),
        (_, Some(_)) => Some(
            "您的密码是公开的示范密码、常见密码或含有用户名，容易被猜中：请先在下面修改密码。"
                .to_string(),
        ),
        _ => None,
    };
    Ok(account_page_with(&st, actor, notice, None).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn password_submit(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    RequestToken(token): RequestToken,
    ClientAddress(address): ClientAddress,
    Form(f): Form<PasswordForm>,
) -> Page {
    let actor = require_page_actor(actor, &uri, &[])?;
    let result = if f.new != f.confirm {
        Err(Error::validation(vec![]).field("confirm", "两次输入的新密码不一致"))
    } else {
        manage::change_own_password(
            &st.db,
            &actor,
            &f.current,
            &f.new,
            token.as_deref(),
            &address,
            st.now(),
        )
        .await
    };
    Ok(match result {
        Ok(()) => Redirect::to("/account?done=password").into_response(),
        Err(e) => account_page_with(&st, actor, None, Some(&e)).await,
    })
}

// --- account management ----------------------------------------------------------------------

const MANAGERS: &[Role] = &[Role::Admin, Role::HallManager];

struct Row {
    username: String,
    display_name: String,
    role_label: &'static str,
    department: Option<String>,
    hall: Option<String>,
    active: bool,
    manageable: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    username: String,
    display_name: String,
    role: String,
    department: String,
    hall: String,
    #[serde(default)]
    region: String,
    password: String,
}

#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct AdminPage {
    layout: Layout,
    rows: Vec<Row>,
    /// (value, label) of the roles this manager may give.
    roles: Vec<(&'static str, &'static str)>,
    /// A hall manager's own hall (code, name): new staff work there.
    fixed_hall: Option<(String, String)>,
    /// (code, name) of the halls and departments an account may name: chosen, not typed.
    halls: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    self_username: String,
    form: CreateForm,
    notice: Option<String>,
    new_password: Option<(String, String)>,
    errors: FormErrors,
}

/// What the account list page shows after an action.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    new_password: Option<(String, String)>,
    form: CreateForm,
    error: Option<Error>,
}

/// The halls and departments set up, by name, for the account form's choices.
async fn choices(
    st: &AppState,
) -> yichuang_domain::Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let halls = yichuang_store::hall::halls(&st.db)
        .await?
        .into_iter()
        .map(|h| (h.code, h.name))
        .collect();
    let departments = yichuang_store::catalogue::departments(&st.db)
        .await?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    Ok((halls, departments))
}

async fn admin_page_with(st: &AppState, actor: Actor, o: Outcome) -> Response {
    let rows = match manage::list_visible(&st.db, &actor).await {
        Ok(rows) => rows,
        Err(e) => return crate::error::Problem(e).into_response(),
    };
    let (halls, departments) = match choices(st).await {
        Ok(c) => c,
        Err(e) => return crate::error::Problem(e).into_response(),
    };
    let name_of = |list: &[(String, String)], code: Option<String>| {
        code.map(|c| {
            list.iter()
                .find(|(k, _)| *k == c)
                .map_or(c.clone(), |(_, n)| n.clone())
        })
    };
    let rows = rows
        .into_iter()
        .map(|(a, manageable)| Row {
            role_label: a.role().map_or("未知角色", Role::label),
            username: a.username,
            display_name: a.display_name,
            department: name_of(&departments, a.department),
            hall: name_of(&halls, a.hall),
            active: a.active,
            manageable,
        })
        .collect();
    let roles = Role::ALL
        .into_iter()
        .filter(|r| actor.role == Role::Admin || r.managed_by_hall_manager())
        .map(|r| (r.as_str(), r.label()))
        .collect();
    let page = AdminPage {
        fixed_hall: (actor.role == Role::HallManager).then(|| {
            let code = actor.hall.clone().unwrap_or_default();
            let name = name_of(&halls, Some(code.clone())).unwrap_or_default();
            (code, name)
        }),
        halls,
        departments,
        self_username: actor.username.clone(),
        layout: Layout::new("账号管理", Some(actor)),
        rows,
        roles,
        form: o.form,
        notice: o.notice,
        new_password: o.new_password,
        errors: o.error.as_ref().map(FormErrors::of).unwrap_or_default(),
    };
    render_form(&page, o.error.as_ref())
}

async fn admin_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<DoneQuery>,
) -> Page {
    let actor = require_page_actor(actor, &uri, MANAGERS)?;
    let who = q.username.unwrap_or_default();
    let notice = match q.done.as_deref() {
        Some("deactivated") => Some(format!("已停用账号 {who}，其登录已全部失效")),
        Some("activated") => Some(format!("已启用账号 {who}")),
        _ => None,
    };
    let outcome = Outcome {
        notice,
        ..Outcome::default()
    };
    Ok(admin_page_with(&st, actor, outcome).await)
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn admin_create(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<CreateForm>,
) -> Page {
    let actor = require_page_actor(actor, &uri, MANAGERS)?;
    let input = NewAccount {
        username: f.username.clone(),
        profile: ProfileInput {
            display_name: f.display_name.clone(),
            role: f.role.clone(),
            department: non_empty(&f.department),
            hall: non_empty(&f.hall),
            region: non_empty(&f.region),
            active: true,
        },
        password: non_empty(&f.password),
    };
    let outcome = match manage::create(&st.db, Operator::Staff(&actor), input, st.now()).await {
        Ok(c) => Outcome {
            notice: Some(format!(
                "已创建账号 {}（{}）",
                c.account.username, c.account.display_name
            )),
            new_password: c
                .generated_password
                .map(|p| (c.account.username.clone(), p)),
            ..Outcome::default()
        },
        Err(e) => Outcome {
            form: CreateForm {
                password: String::new(),
                ..f
            },
            error: Some(e),
            ..Outcome::default()
        },
    };
    Ok(admin_page_with(&st, actor, outcome).await)
}

async fn admin_reset(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(username): Path<String>,
) -> Page {
    let actor = require_page_actor(actor, &uri, MANAGERS)?;
    let r = manage::reset_password(&st.db, Operator::Staff(&actor), &username, None, st.now());
    let outcome = match r.await {
        Ok(generated) => Outcome {
            notice: Some(format!("已重置账号 {username} 的密码，其登录已全部失效")),
            new_password: generated.map(|p| (username.clone(), p)),
            ..Outcome::default()
        },
        Err(e) => Outcome {
            error: Some(e),
            ..Outcome::default()
        },
    };
    Ok(admin_page_with(&st, actor, outcome).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActiveForm {
    active: bool,
}

async fn admin_active(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(username): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Page {
    let actor = require_page_actor(actor, &uri, MANAGERS)?;
    let patch = ProfilePatch {
        active: Some(f.active),
        ..ProfilePatch::default()
    };
    Ok(
        match manage::update(&st.db, &actor, &username, patch, st.now()).await {
            Ok(row) => {
                let done = if f.active { "activated" } else { "deactivated" };
                let to = format!(
                    "/admin/accounts?done={done}&username={}",
                    percent_encode(&row.username)
                );
                Redirect::to(&to).into_response()
            }
            Err(e) => {
                let outcome = Outcome {
                    error: Some(e),
                    ..Outcome::default()
                };
                admin_page_with(&st, actor, outcome).await
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/admin/accounts?x=1")),
            "/admin/accounts?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_login_link_carries_the_page_to_come_back_to() {
        let uri: Uri = "/admin/accounts?hall=H1&q=%E5%BC%A0".parse().unwrap();
        assert_eq!(
            login_href(&uri),
            "/login?next=/admin/accounts%3Fhall%3DH1%26q%3D%25E5%25BC%25A0"
        );
    }
}
