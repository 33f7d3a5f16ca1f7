//! Server-rendered pages: one zh-CN layout, navigation by role, usable on a phone.

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use yichuang_domain::{Actor, Role};

use crate::auth::MaybeActor;
use crate::state::AppState;

pub mod home;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/api/docs", get(api_docs))
        .merge(crate::hall::page_routes())
        .merge(crate::accounts::page_routes())
        .merge(crate::calendar::page::routes())
        .merge(crate::cases::page_routes())
        .merge(crate::ratings::page_routes())
        .merge(crate::work_orders::page_routes())
        .merge(crate::supervision::pages::routes())
        .merge(home::routes())
}

/// One link of the navigation bar.
pub struct NavLink {
    pub href: String,
    pub label: &'static str,
}

/// What the layout needs on every page.
pub struct Layout {
    pub title: String,
    pub actor: Option<Actor>,
    pub nav: Vec<NavLink>,
}

impl Layout {
    pub fn new(title: impl Into<String>, actor: Option<Actor>) -> Self {
        let nav = nav_for(actor.as_ref());
        Layout {
            title: title.into(),
            actor,
            nav,
        }
    }
}

/// The navigation a role sees: the public pages for everyone, then the work of the role —
/// its own workstation first (issue 10 item 4), then what else the role may do.
pub fn nav_for(actor: Option<&Actor>) -> Vec<NavLink> {
    let role = actor.map(|a| a.role);
    let mut v = Vec::new();
    let mut add = |href: &str, label: &'static str| {
        v.push(NavLink {
            href: href.to_string(),
            label,
        })
    };
    add("/", "首页");
    add("/catalogue", "办事指南");
    add("/query", "办件查询");
    let hall = actor.and_then(|a| a.hall.clone());
    match (role, actor) {
        (Some(Role::Clerk | Role::Agent), _) => add("/home", "我的窗口"),
        (Some(Role::Issuance), _) => {
            add("/issuance", "待出件");
            add("/desk", "出件窗口");
        }
        (Some(Role::Approver), Some(a)) => {
            if let Some(d) = &a.department {
                add(&format!("/departments/{d}/worklist"), "部门工作台");
            }
        }
        (Some(Role::HallManager), _) => {
            if let Some(h) = &hall {
                add(&format!("/halls/{h}/manage"), "大厅管理");
                add(&format!("/halls/{h}/stats"), "排队统计");
            }
        }
        (Some(Role::Admin), _) => add("/admin", "系统管理"),
        _ => {}
    }
    if matches!(role, Some(Role::Clerk | Role::HallManager | Role::Admin)) {
        add("/cases/new", "窗口受理");
    }
    match role {
        None => {}
        Some(Role::Admin) => {
            add("/admin/catalogue", "事项管理");
            add("/admin/calendar", "工作日历");
            add("/admin/accounts", "账号管理");
        }
        Some(Role::HallManager) => {
            add("/admin/calendar", "工作日历");
            add("/admin/accounts", "账号管理");
        }
        Some(_) => {}
    }
    if role.is_some() {
        add("/work-orders", "工单");
    }
    if matches!(
        role,
        Some(Role::Admin | Role::HallManager | Role::Supervisor | Role::Approver)
    ) {
        add("/ledger", "问题台账");
    }
    match role {
        Some(Role::Callback) => add("/callbacks", "回访工作台"),
        Some(Role::Approver | Role::HallManager | Role::Supervisor | Role::Admin) => {
            add("/rectifications", "差评整改");
            add("/ratings", "好差评");
        }
        _ => {}
    }
    if matches!(
        role,
        Some(Role::Admin | Role::HallManager | Role::Supervisor)
    ) {
        add("/supervision", "电子监察");
    }
    if role.is_some() {
        add("/account", "我的账号");
    }
    v
}

/// Renders a template into a page, or a plain 500 page if the template fails.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>页面出错了，请稍后重试</h1>".to_string()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

async fn home(MaybeActor(actor): MaybeActor) -> Response {
    render(&HomePage {
        layout: Layout::new("一窗 · 政务服务中心", actor),
    })
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    layout: Layout,
}

pub async fn not_found(MaybeActor(actor): MaybeActor) -> Response {
    let mut r = render(&NotFoundPage {
        layout: Layout::new("页面不存在", actor),
    });
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    layout: Layout,
}

async fn api_docs(MaybeActor(actor): MaybeActor) -> Response {
    render(&ApiDocsPage {
        layout: Layout::new("开放接口文档", actor),
    })
}
