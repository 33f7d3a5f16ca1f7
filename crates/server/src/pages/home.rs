//! Where staff land (issue 10 item 4): `/home` sends each role to its own workstation — a
//! clerk to the desk of the window they sit at (or last sat at), an approver to the
//! department's worklist, an issuance clerk to the cases waiting to be issued, a hall manager
//! to the hall, a supervisor to supervision, an admin to the administration home — and the
//! pages a role needs when it has no such place yet: choosing a window, the issuance list,
//! the admin home.

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use yichuang_domain::queue::window::WindowStatus;
use yichuang_domain::{Actor, Role};
use yichuang_store::cases::records;
use yichuang_store::hall as store;

use super::{Layout, render};
use crate::accounts::{Page, forbidden_page, require_page_actor};
use crate::auth::MaybeActor;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/home", get(home))
        .route("/desk", get(choose_window))
        .route("/issuance", get(issuance))
        .route("/admin", get(admin_home))
}

/// An error on a page: the error page (see `pages::error_pages`).
fn failed(e: yichuang_domain::Error) -> Response {
    crate::error::Problem(e).into_response()
}

/// The roles that work at a hall's windows.
const WINDOW_ROLES: [Role; 3] = [Role::Clerk, Role::Issuance, Role::Agent];

/// The page a role starts its day on. A window role's is its window's desk, looked up.
pub async fn home_of(st: &AppState, actor: &Actor) -> String {
    match actor.role {
        Role::Clerk | Role::Agent => match store::home_window_of_staff(&st.db, actor.id).await {
            Ok(Some(id)) => format!("/windows/{id}/desk"),
            _ => "/desk".to_string(),
        },
        Role::Issuance => "/issuance".to_string(),
        Role::Approver => match &actor.department {
            Some(d) => format!("/departments/{d}/worklist"),
            None => "/".to_string(),
        },
        Role::HallManager => match &actor.hall {
            Some(h) => format!("/halls/{h}/manage"),
            None => "/admin".to_string(),
        },
        Role::Supervisor => "/supervision".to_string(),
        Role::Callback => "/callbacks".to_string(),
        Role::Admin => "/admin".to_string(),
    }
}

async fn home(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    Ok(Redirect::to(&home_of(&st, &actor).await).into_response())
}

/// A window as the chooser lists it.
pub struct WindowChoice {
    pub id: i64,
    pub name: String,
    pub hall_name: String,
    pub status_label: &'static str,
    pub staff: String,
    /// Someone else is signed in there now.
    pub taken: bool,
}

pub fn window_status_label(status: WindowStatus) -> &'static str {
    status.service_label()
}

#[derive(Template)]
#[template(path = "home_desk.html")]
struct ChoosePage {
    layout: Layout,
    windows: Vec<WindowChoice>,
}

async fn choose_window(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
) -> Page {
    let mut roles = WINDOW_ROLES.to_vec();
    roles.extend([Role::HallManager, Role::Admin]);
    let actor = require_page_actor(a, &uri, &roles)?;
    let halls = match &actor.hall {
        Some(h) => vec![store::hall(&st.db, h).await.map_err(failed)?],
        None => store::halls(&st.db).await.map_err(failed)?,
    };
    let mut windows = Vec::new();
    for h in &halls {
        let mut ws = store::windows(&st.db, h.id).await.map_err(failed)?;
        // An issuance clerk's own kind of window first.
        if actor.role == Role::Issuance {
            ws.sort_by_key(|w| w.kind != "issuance");
        }
        if actor.role == Role::Agent {
            ws.sort_by_key(|w| w.kind != "agency");
        }
        windows.extend(ws.into_iter().map(|w| WindowChoice {
            id: w.id,
            hall_name: h.name.clone(),
            status_label: window_status_label(w.session()),
            taken: w.session() != WindowStatus::Closed && w.staff_id.is_some_and(|s| s != actor.id),
            staff: w.staff_name.unwrap_or_default(),
            name: w.name,
        }));
    }
    Ok(render(&ChoosePage {
        layout: Layout::new("选择窗口", Some(actor)),
        windows,
    }))
}

/// One case waiting to be issued.
pub struct IssueLine {
    pub number: String,
    pub item: String,
    pub step: String,
    pub due: String,
    pub late: bool,
}

#[derive(Template)]
#[template(path = "home_issuance.html")]
struct IssuancePage {
    layout: Layout,
    hall_name: String,
    window: Option<i64>,
    lines: Vec<IssueLine>,
}

async fn issuance(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Issuance, Role::HallManager, Role::Admin])?;
    let Some(hall_code) = actor.hall.clone() else {
        let e = yichuang_domain::Error::forbidden("出件清单按大厅列出：当前账号未绑定大厅");
        return Err(forbidden_page(Some(actor), &uri, e.title));
    };
    let hall = store::hall(&st.db, &hall_code).await.map_err(failed)?;
    let rows = records::issuance_steps(&st.db, &hall_code, 500)
        .await
        .map_err(failed)?;
    let today = crate::cases::time::local(st.now()).date();
    let mut lines = Vec::new();
    for r in rows {
        let item = yichuang_store::catalogue::item(&st.db, &r.item)
            .await
            .ok()
            .flatten()
            .map_or_else(|| r.item.clone(), |i| i.item.name);
        let due = r
            .due
            .as_deref()
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
        lines.push(IssueLine {
            number: r.number,
            item,
            step: r.name.unwrap_or_default(),
            due: due
                .map(crate::ratings::views::chinese_date)
                .unwrap_or_default(),
            late: due.is_some_and(|d| d < today),
        });
    }
    let window = store::home_window_of_staff(&st.db, actor.id)
        .await
        .ok()
        .flatten();
    Ok(render(&IssuancePage {
        layout: Layout::new("待出件", Some(actor)),
        hall_name: hall.name,
        window,
        lines,
    }))
}

/// A hall as the admin home lists it.
pub struct HallLink {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "home_admin.html")]
struct AdminPage {
    layout: Layout,
    halls: Vec<HallLink>,
}

async fn admin_home(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let actor = match require_page_actor(a, &uri, &[Role::Admin]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let halls = match store::halls(&st.db).await {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    render(&AdminPage {
        layout: Layout::new("系统管理", Some(actor)),
        halls: halls
            .into_iter()
            .map(|h| HallLink {
                code: h.code,
                name: h.name,
            })
            .collect(),
    })
}
