//! Server-rendered pages: one zh-CN layout, navigation by role, usable on a phone.

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use yichuang_domain::{Actor, Role};

use crate::auth::MaybeActor;
use crate::state::AppState;

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
        .merge(crate::lockers::pages::routes())
}

/// One link of the navigation bar.
pub struct NavLink {
    pub href: &'static str,
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
        let nav = nav_for(actor.as_ref().map(|a| a.role));
        Layout {
            title: title.into(),
            actor,
            nav,
        }
    }
}

/// The navigation a role sees: the public pages for everyone, then the work of the role.
pub fn nav_for(role: Option<Role>) -> Vec<NavLink> {
    let mut v = vec![
        NavLink {
            href: "/",
            label: "首页",
        },
        NavLink {
            href: "/catalogue",
            label: "办事指南",
        },
        NavLink {
            href: "/query",
            label: "办件查询",
        },
    ];
    if matches!(role, Some(Role::Clerk | Role::HallManager | Role::Admin)) {
        v.push(NavLink {
            href: "/cases/new",
            label: "窗口受理",
        });
    }
    match role {
        None => {}
        Some(Role::Admin) => {
            v.push(NavLink {
                href: "/admin/catalogue",
                label: "事项管理",
            });
            v.push(NavLink {
                href: "/admin/calendar",
                label: "工作日历",
            });
            v.push(NavLink {
                href: "/admin/accounts",
                label: "账号管理",
            });
        }
        Some(Role::HallManager) => {
            v.push(NavLink {
                href: "/admin/calendar",
                label: "工作日历",
            });
            v.push(NavLink {
                href: "/admin/accounts",
                label: "账号管理",
            });
        }
        Some(_) => {}
    }
    if role.is_some() {
        v.push(NavLink {
            href: "/work-orders",
            label: "工单",
        });
    }
    if matches!(role, Some(Role::Clerk | Role::HallManager | Role::Issuance)) {
        v.push(NavLink {
            href: "/lockers",
            label: "智能文件柜",
        });
    }
    if matches!(
        role,
        Some(Role::Admin | Role::HallManager | Role::Supervisor | Role::Approver)
    ) {
        v.push(NavLink {
            href: "/ledger",
            label: "问题台账",
        });
    }
    match role {
        Some(Role::Callback) => v.push(NavLink {
            href: "/callbacks",
            label: "回访工作台",
        }),
        Some(Role::Approver | Role::HallManager | Role::Supervisor | Role::Admin) => {
            v.push(NavLink {
                href: "/rectifications",
                label: "差评整改",
            });
            v.push(NavLink {
                href: "/ratings",
                label: "好差评",
            });
        }
        _ => {}
    }
    if matches!(
        role,
        Some(Role::Admin | Role::HallManager | Role::Supervisor)
    ) {
        v.push(NavLink {
            href: "/supervision",
            label: "电子监察",
        });
    }
    if role.is_some() {
        v.push(NavLink {
            href: "/account",
            label: "我的账号",
        });
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
