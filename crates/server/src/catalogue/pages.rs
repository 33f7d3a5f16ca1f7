//! The public catalogue pages: the list with search, the item guide (办事指南) with its
//! situation questionnaire, the printable one-time notice (一次性告知单, R-ACCEPT-5D) and the
//! bundle page (一件事).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use yichuang_domain::catalogue::{
    Answers, Department, ItemKind, NoticeMaterial, OneTimeNotice, ServiceItem, bundle_stages,
    one_time_notice,
};
use yichuang_domain::{Error, Result};
use yichuang_store::catalogue::{self as store, ItemQuery, ItemRecord, ItemSummary};

use super::api::{answers, paging};
use crate::auth::MaybeActor;
use crate::clock::hall_zone;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalogue", get(list))
        .route("/catalogue/items/{code}", get(guide))
        .route("/catalogue/items/{code}/notice", get(notice))
        .route("/catalogue/bundles/{code}", get(bundle))
}

/// Percent-encodes a query value or path segment (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&…` with the empty values left out.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// A page of a list, with links to its neighbours.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(total: i64, page: i64, per_page: i64, url: impl Fn(i64) -> String) -> Pager {
        let pages = ((total + per_page - 1) / per_page).max(1);
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| url(page - 1)),
            next: (page < pages).then(|| url(page + 1)),
        }
    }
}

/// How an item's limits read in a list: 当场办结, or committed against statutory days.
pub fn limits_text(kind: ItemKind, committed: u32, statutory: u32) -> String {
    match kind {
        ItemKind::Immediate => "当场办结".to_string(),
        ItemKind::Committed => format!("承诺 {committed} 个工作日（法定 {statutory} 个工作日）"),
    }
}

pub struct Entry {
    pub code: String,
    pub name: String,
    pub department_name: String,
    pub kind_label: &'static str,
    pub immediate: bool,
    pub limits: String,
    pub online: bool,
    pub active: bool,
}

impl Entry {
    pub fn new(s: &ItemSummary) -> Entry {
        Entry {
            code: s.code.clone(),
            name: s.name.clone(),
            department_name: s.department_name.clone(),
            kind_label: s.kind.label(),
            immediate: s.kind == ItemKind::Immediate,
            limits: limits_text(s.kind, s.committed_limit_days, s.statutory_limit_days),
            online: s.online,
            active: s.active,
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    department: Option<String>,
    page: Option<i64>,
    view: Option<String>,
}

#[derive(Template)]
#[template(path = "catalogue/list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    department: String,
    departments: Vec<Department>,
    entries: Vec<Entry>,
    pager: Pager,
}

pub struct BundleEntry {
    code: String,
    name: String,
    description: String,
    members: usize,
    stages: usize,
}

#[derive(Template)]
#[template(path = "catalogue/bundles.html")]
struct BundlesPage {
    layout: Layout,
    bundles: Vec<BundleEntry>,
}

/// A page that could not be produced: a plain error page with the Chinese title.
pub fn error_page(actor: Option<yichuang_domain::Actor>, e: Error) -> Response {
    let status = crate::error::status_of(e.kind);
    if e.kind == yichuang_domain::Kind::Internal {
        tracing::error!(code = %e.code, detail = ?e.detail, "page failed");
    }
    let mut r = render(&MessagePage {
        layout: Layout::new(e.title.clone(), actor),
        heading: e.title,
        lines: e.fields.into_iter().map(|f| f.message).collect(),
    });
    *r.status_mut() = status;
    r
}

#[derive(Template)]
#[template(path = "catalogue/message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub lines: Vec<String>,
}

/// Runs a page body; its error becomes an error page.
async fn page(
    actor: Option<yichuang_domain::Actor>,
    body: impl Future<Output = Result<Response>>,
) -> Response {
    match body.await {
        Ok(r) => r,
        Err(e) => error_page(actor, e),
    }
}

async fn list(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Query(p): Query<ListParams>,
) -> Response {
    let a = actor.clone();
    page(a, async move {
        if p.view.as_deref() == Some("bundles") {
            let bundles = store::bundles(&st.db).await?;
            let bundles = bundles
                .iter()
                .map(|b| BundleEntry {
                    code: b.bundle.code.clone(),
                    name: b.bundle.name.clone(),
                    description: b.bundle.description.clone(),
                    members: b.bundle.items.len(),
                    stages: bundle_stages(&b.bundle).map_or(0, |s| s.len()),
                })
                .collect();
            return Ok(render(&BundlesPage {
                layout: Layout::new("一件事一次办", actor),
                bundles,
            }));
        }
        let (number, per_page) = paging(p.page, None)?;
        let q = p.q.unwrap_or_default();
        let department = p.department.unwrap_or_default();
        let query = ItemQuery {
            q: Some(q.clone()),
            department: Some(department.clone()),
            offset: (number - 1) * per_page,
            limit: per_page,
            ..ItemQuery::default()
        };
        let (total, items) = store::list_items(&st.db, &query).await?;
        let pager = Pager::new(total, number, per_page, |n| {
            link(
                "/catalogue",
                &[
                    ("q", &q),
                    ("department", &department),
                    ("page", &n.to_string()),
                ],
            )
        });
        Ok(render(&ListPage {
            layout: Layout::new("办事指南", actor),
            departments: store::departments(&st.db).await?,
            entries: items.iter().map(Entry::new).collect(),
            q,
            department,
            pager,
        }))
    })
    .await
}

/// The materials one answer to a situation question adds.
pub struct OptionMaterials {
    pub label: String,
    pub materials: Vec<NoticeMaterial>,
}

pub struct SituationMaterials {
    pub question: String,
    pub options: Vec<OptionMaterials>,
}

/// One question of the questionnaire, with the answer chosen so far.
pub struct Question {
    pub code: String,
    pub text: String,
    pub options: Vec<(String, String, bool)>,
}

fn questions(item: &ServiceItem, chosen: &Answers) -> Vec<Question> {
    item.situations
        .iter()
        .map(|s| Question {
            code: s.code.clone(),
            text: s.question.clone(),
            options: s
                .options
                .iter()
                .map(|o| {
                    let checked = chosen.get(&s.code) == Some(&o.code);
                    (o.code.clone(), o.label.clone(), checked)
                })
                .collect(),
        })
        .collect()
}

/// The elements every guide and notice shows about an item.
pub struct ItemFacts {
    pub item: ServiceItem,
    pub active: bool,
    pub department_name: String,
    pub type_label: &'static str,
    pub kind_label: &'static str,
    pub immediate: bool,
    pub fee: String,
    pub updated: String,
}

async fn facts(st: &AppState, r: ItemRecord) -> Result<ItemFacts> {
    let department = store::department(&st.db, &r.item.department).await?;
    Ok(ItemFacts {
        department_name: department.map(|d| d.name).unwrap_or_default(),
        type_label: r.item.item_type.label(),
        kind_label: r.item.kind.label(),
        immediate: r.item.kind == ItemKind::Immediate,
        fee: if r.item.fee.trim().is_empty() {
            "不收费".to_string()
        } else {
            r.item.fee.clone()
        },
        updated: r
            .updated_at
            .with_timezone(&hall_zone())
            .format("%Y-%m-%d")
            .to_string(),
        active: r.active,
        item: r.item,
    })
}

async fn load_item(st: &AppState, code: &str) -> Result<ItemRecord> {
    store::item(&st.db, code)
        .await?
        .ok_or_else(|| store::item_not_found(code))
}

#[derive(Template)]
#[template(path = "catalogue/guide.html")]
struct GuidePage {
    layout: Layout,
    f: ItemFacts,
    always: Vec<NoticeMaterial>,
    by_situation: Vec<SituationMaterials>,
    questions: Vec<Question>,
    bundles: Vec<(String, String)>,
}

/// The materials each answer adds, question by question.
fn by_situation(item: &ServiceItem, conditional: &[NoticeMaterial]) -> Vec<SituationMaterials> {
    let condition_of = |code: &str| {
        item.materials
            .iter()
            .find(|m| m.code == code)
            .and_then(|m| m.required_if.as_ref())
    };
    item.situations
        .iter()
        .map(|s| SituationMaterials {
            question: s.question.clone(),
            options: s
                .options
                .iter()
                .map(|o| OptionMaterials {
                    label: o.label.clone(),
                    materials: conditional
                        .iter()
                        .filter(|m| {
                            condition_of(&m.code).is_some_and(|c| {
                                c.question == s.code && c.answers.contains(&o.code)
                            })
                        })
                        .cloned()
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

async fn guide(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
) -> Response {
    let a = actor.clone();
    page(a, async move {
        let r = load_item(&st, &code).await?;
        let everything = one_time_notice(&r.item, &Answers::new())?;
        let bundles = store::bundles_of_item(&st.db, &code).await?;
        let f = facts(&st, r).await?;
        Ok(render(&GuidePage {
            layout: Layout::new(format!("{} · 办事指南", f.item.name), actor),
            by_situation: by_situation(&f.item, &everything.conditional_materials),
            always: everything.materials,
            questions: questions(&f.item, &Answers::new()),
            bundles,
            f,
        }))
    })
    .await
}

#[derive(Template)]
#[template(path = "catalogue/notice.html")]
struct NoticePage {
    layout: Layout,
    f: ItemFacts,
    notice: OneTimeNotice,
    questions: Vec<Question>,
    date: String,
    problems: Vec<String>,
}

async fn notice(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let a = actor.clone();
    page(a, async move {
        let r = load_item(&st, &code).await?;
        if !r.active {
            return Err(super::api::retired(&code));
        }
        let chosen = answers(query);
        // Answers the item does not know (an old link) are listed, and the notice is made from
        // the ones it does know, so the applicant still leaves with a complete list.
        let (notice, problems, chosen) = match one_time_notice(&r.item, &chosen) {
            Ok(n) => (n, vec![], chosen),
            Err(e) => {
                let valid: Answers = chosen
                    .into_iter()
                    .filter(|(q, a)| {
                        r.item
                            .situations
                            .iter()
                            .any(|s| &s.code == q && s.options.iter().any(|o| &o.code == a))
                    })
                    .collect();
                let n = one_time_notice(&r.item, &valid)?;
                (n, e.fields.into_iter().map(|f| f.message).collect(), valid)
            }
        };
        let date = st
            .now()
            .with_timezone(&hall_zone())
            .format("%Y年%m月%d日")
            .to_string();
        let f = facts(&st, r).await?;
        let mut response = render(&NoticePage {
            layout: Layout::new(format!("{} · 一次性告知单", f.item.name), actor),
            questions: questions(&f.item, &chosen),
            notice,
            date,
            f,
            problems: problems.clone(),
        });
        if !problems.is_empty() {
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(response)
    })
    .await
}

pub struct Stage {
    pub number: usize,
    pub members: Vec<Member>,
}

pub struct Member {
    pub code: String,
    pub name: String,
    pub department_name: String,
    pub limits: String,
    pub after: Vec<String>,
    /// The member's own materials, those covered by a shared material left out.
    pub materials: Vec<NoticeMaterial>,
    pub conditional: usize,
}

pub struct SharedLine {
    pub name: String,
    pub covers: Vec<String>,
}

#[derive(Template)]
#[template(path = "catalogue/bundle.html")]
struct BundlePage {
    layout: Layout,
    code: String,
    name: String,
    description: String,
    stages: Vec<Stage>,
    shared: Vec<SharedLine>,
}

async fn bundle(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
) -> Response {
    let a = actor.clone();
    page(a, async move {
        let b = store::bundle(&st.db, &code)
            .await?
            .ok_or_else(|| store::bundle_not_found(&code))?
            .bundle;
        let mut items: HashMap<String, ItemRecord> = HashMap::new();
        for m in &b.items {
            if let Some(r) = store::item(&st.db, &m.item).await? {
                items.insert(m.item.clone(), r);
            }
        }
        let departments: HashMap<String, String> = store::departments(&st.db)
            .await?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect();
        let name_of = |code: &str| {
            items
                .get(code)
                .map_or(code.to_string(), |r| r.item.name.clone())
        };
        let covered = |item: &str, material: &str| {
            b.shared_materials.iter().any(|s| {
                s.covers
                    .iter()
                    .any(|c| c.item == item && c.material == material)
            })
        };
        let member = |code: &str| -> Result<Member> {
            let after = b
                .items
                .iter()
                .find(|m| m.item == code)
                .map(|m| m.after.iter().map(|a| name_of(a)).collect())
                .unwrap_or_default();
            let Some(r) = items.get(code) else {
                return Err(store::item_not_found(code));
            };
            let n = one_time_notice(&r.item, &Answers::new())?;
            Ok(Member {
                code: code.to_string(),
                name: r.item.name.clone(),
                department_name: departments
                    .get(&r.item.department)
                    .cloned()
                    .unwrap_or_default(),
                limits: limits_text(
                    r.item.kind,
                    r.item.committed_limit_days,
                    r.item.statutory_limit_days,
                ),
                after,
                materials: n
                    .materials
                    .into_iter()
                    .filter(|m| !covered(code, &m.code))
                    .collect(),
                conditional: n.conditional_materials.len(),
            })
        };
        let mut stages = Vec::new();
        for (i, stage) in bundle_stages(&b).unwrap_or_default().iter().enumerate() {
            let members = stage
                .iter()
                .map(|c| member(c))
                .collect::<Result<Vec<_>>>()?;
            stages.push(Stage {
                number: i + 1,
                members,
            });
        }
        let shared = b
            .shared_materials
            .iter()
            .map(|s| SharedLine {
                name: s.name.clone(),
                covers: s
                    .covers
                    .iter()
                    .map(|c| {
                        let material = items
                            .get(&c.item)
                            .and_then(|r| r.item.materials.iter().find(|m| m.code == c.material))
                            .map_or(c.material.clone(), |m| m.name.clone());
                        format!("{}：{}", name_of(&c.item), material)
                    })
                    .collect(),
            })
            .collect();
        Ok(render(&BundlePage {
            layout: Layout::new(format!("{} · 一件事一次办", b.name), actor),
            code: b.code.clone(),
            name: b.name.clone(),
            description: b.description.clone(),
            stages,
            shared,
        }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_their_values_and_drop_empty_ones() {
        assert_eq!(
            link(
                "/catalogue",
                &[("q", "营业 执照"), ("department", ""), ("page", "2")]
            ),
            "/catalogue?q=%E8%90%A5%E4%B8%9A%20%E6%89%A7%E7%85%A7&page=2"
        );
        assert_eq!(link("/catalogue", &[("q", "")]), "/catalogue");
    }

    #[test]
    fn a_pager_links_only_to_pages_that_exist() {
        let p = Pager::new(45, 1, 20, |n| n.to_string());
        assert_eq!(
            (p.pages, p.prev.as_deref(), p.next.as_deref()),
            (3, None, Some("2"))
        );
        let p = Pager::new(45, 3, 20, |n| n.to_string());
        assert_eq!((p.prev.as_deref(), p.next.as_deref()), (Some("2"), None));
        let p = Pager::new(0, 1, 20, |n| n.to_string());
        assert_eq!((p.pages, p.next), (1, None));
    }
}
