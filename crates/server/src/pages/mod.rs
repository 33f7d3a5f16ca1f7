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
pub mod paper;

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
        .merge(crate::lockers::pages::routes())
        .merge(crate::agency::pages::routes())
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
    if matches!(role, Some(Role::Agent | Role::HallManager)) {
        add("/agency", "帮办代办");
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
    if let (Some(Role::Clerk | Role::HallManager | Role::Issuance), Some(h)) = (role, &hall) {
        add(&format!("/halls/{h}/lockers"), "智能文件柜");
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

// --- errors on pages ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: String,
    details: Vec<String>,
    /// Links back: (href, label).
    back: Vec<(String, &'static str)>,
}

/// Paths machines read: they keep their `application/problem+json` errors.
fn machine_path(path: &str) -> bool {
    ["/api/", "/open311/", "/static/", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// A person opening a page gets a page (issue 10 item 8): any `application/problem+json`
/// answer to a GET of a page route — a bad or expired link, a hall that does not exist, a
/// case that is not there — becomes an HTML page in Chinese with the same status, the
/// problem's message and a way back. API routes keep problem+json.
pub async fn error_pages(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let page = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) && !machine_path(req.uri().path());
    if !page {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    let token = crate::auth::request_token(&parts);
    let res = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    let problem = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !problem {
        return res;
    }
    let status = res.status();
    let retry = res.headers().get(axum::http::header::RETRY_AFTER).cloned();
    let bytes = axum::body::to_bytes(res.into_body(), 256 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let actor = match token {
        Some(t) => crate::auth::resolve(&st, &t).await.ok().flatten(),
        None => None,
    };
    let heading = match status.as_u16() {
        404 => "找不到您要的内容",
        401 => "请先登录",
        403 => "无权访问",
        400 | 422 => "链接有误",
        409 => "操作未能完成",
        429 => "操作太频繁，请稍后再试",
        s if s >= 500 => "系统暂时出了点问题",
        _ => "出错了",
    };
    let message = v["title"]
        .as_str()
        .filter(|_| status.as_u16() < 500)
        .unwrap_or("请稍后再试；如果一直这样，请联系大厅工作人员")
        .to_string();
    let details = v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .filter(|m| *m != message)
                .collect()
        })
        .unwrap_or_default();
    let mut back = Vec::new();
    if actor.is_some() {
        back.push(("/home".to_string(), "返回我的工作台"));
    } else if status == StatusCode::UNAUTHORIZED {
        back.push((format!("/login?next={path}"), "工作人员登录"));
    }
    if path.starts_with("/t/") || path.starts_with("/appointments/") {
        back.push((
            "/".to_string(),
            "返回首页（请以号票或预约短信上的二维码为准）",
        ));
    } else if path.starts_with("/my") {
        back.push(("/my".to_string(), "返回我的办件"));
    } else if path.starts_with("/wo/") {
        back.push(("/feedback".to_string(), "返回问题反映"));
    } else {
        back.push(("/".to_string(), "返回首页"));
    }
    back.push(("/catalogue".to_string(), "查看办事指南"));
    let mut r = render(&ErrorPage {
        layout: Layout::new(heading, actor),
        heading,
        message,
        details,
        back,
    });
    *r.status_mut() = status;
    if let Some(v) = retry {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}
