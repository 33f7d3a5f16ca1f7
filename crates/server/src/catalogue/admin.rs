//! The admin catalogue pages: the list of every item with retire/reactivate, the item form
//! (new and edit), adding a department, and import/export. Without a session they redirect to
//! `/login?next=…`; other roles get a 403 page.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, OriginalUri, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yichuang_domain::catalogue::{
    Department, ItemKind, ItemType, Known, ServiceItem, validate_item,
};
use yichuang_domain::{Actor, Error, FieldError, Kind, Result};
use yichuang_store::catalogue::{self as store, ImportSummary, ItemQuery, ItemStatus};

use super::form::{FieldErrors, ItemForm};
use super::pages::{Entry, Pager, error_page, link};
use super::{MAX_FILE_BYTES, import_file};
use crate::accounts::{Page, forbidden_page, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/catalogue", get(list))
        .route(
            "/admin/catalogue/items/new",
            get(new_item).post(create_item),
        )
        .route(
            "/admin/catalogue/items/{code}/edit",
            get(edit_item).post(save_item),
        )
        .route("/admin/catalogue/items/{code}/retire", post(retire))
        .route("/admin/catalogue/items/{code}/reactivate", post(reactivate))
        .route("/admin/catalogue/departments", post(add_department))
        .route(
            "/admin/catalogue/import",
            post(import).layer(DefaultBodyLimit::max(MAX_FILE_BYTES)),
        )
}

/// The signed-in catalogue editor, or the response to give instead: the login page (coming
/// back here afterwards) without a session, a 403 page for roles that may not edit the
/// catalogue (`Actor::require_catalogue_editor` decides, as for the API).
pub fn editor(actor: Option<Actor>, uri: &Uri) -> std::result::Result<Actor, Response> {
    let a = require_page_actor(actor, uri, &[])?;
    match a.require_catalogue_editor() {
        Ok(()) => Ok(a),
        Err(e) => Err(forbidden_page(Some(a), uri, e.title)),
    }
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    page: Option<i64>,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/catalogue.html")]
struct ListPage {
    layout: Layout,
    q: String,
    entries: Vec<Entry>,
    pager: Pager,
    departments: Vec<Department>,
    flash: Option<String>,
    department_errors: Vec<String>,
}

async fn list(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(p): Query<ListParams>,
) -> Page {
    let a = editor(actor, &uri)?;
    let flash = p.saved.as_ref().map(|c| format!("已保存：{c}"));
    list_page(&st, a.clone(), p.q, p.page, flash, vec![])
        .await
        .map_err(shown(&a))
}

/// Turns an error into the error page `actor` sees (for `?` in page handlers).
fn shown(actor: &Actor) -> impl FnOnce(Error) -> Response + '_ {
    move |e| error_page(Some(actor.clone()), e)
}

async fn list_page(
    st: &AppState,
    actor: Actor,
    q: Option<String>,
    page: Option<i64>,
    flash: Option<String>,
    department_errors: Vec<String>,
) -> Result<Response> {
    let (number, per_page) = super::api::paging(page, Some(50))?;
    let q = q.unwrap_or_default();
    let query = ItemQuery {
        q: Some(q.clone()),
        status: ItemStatus::All,
        offset: (number - 1) * per_page,
        limit: per_page,
        ..ItemQuery::default()
    };
    let (total, items) = store::list_items(&st.db, &query).await?;
    let pager = Pager::new(total, number, per_page, |n| {
        link("/admin/catalogue", &[("q", &q), ("page", &n.to_string())])
    });
    Ok(render(&ListPage {
        layout: Layout::new("事项管理", Some(actor)),
        entries: items.iter().map(Entry::new).collect(),
        departments: store::departments(&st.db).await?,
        q,
        pager,
        flash,
        department_errors,
    }))
}

#[derive(Template)]
#[template(path = "admin/item_form.html")]
struct FormPage {
    layout: Layout,
    /// `None` for a new item.
    code: Option<String>,
    form: ItemForm,
    errors: FieldErrors,
    general: Vec<String>,
    departments: Vec<Department>,
    types: Vec<&'static str>,
    kinds: Vec<&'static str>,
    /// The situations and materials as rows of labelled inputs (issue 10 item 3).
    situations: Vec<super::form::SituationRow>,
    materials: Vec<super::form::MaterialRow>,
    procedures: Vec<super::form::ProcedureRow>,
    conditions: Vec<super::form::ConditionChoice>,
    material_forms: Vec<&'static str>,
    material_media: Vec<&'static str>,
}

async fn form_page(
    st: &AppState,
    actor: Actor,
    code: Option<String>,
    form: ItemForm,
    errors: FieldErrors,
    general: Vec<String>,
) -> Response {
    let title = match &code {
        Some(c) => format!("编辑事项 {c}"),
        None => "新增事项".to_string(),
    };
    let departments = match store::departments(&st.db).await {
        Ok(d) => d,
        Err(e) => return error_page(Some(actor), e),
    };
    let failed = !errors.is_empty() || !general.is_empty();
    let situations = form.situation_rows(&errors);
    let materials = form.material_rows(&errors);
    let procedures = form.procedure_rows(&errors);
    let conditions = form.condition_choices();
    let mut r = render(&FormPage {
        situations,
        materials,
        procedures,
        conditions,
        material_forms: super::form::material_forms(),
        material_media: super::form::material_media(),
        layout: Layout::new(title, Some(actor)),
        code,
        form,
        errors,
        general,
        departments,
        types: ItemType::ALL.iter().map(|t| t.label()).collect(),
        kinds: ItemKind::ALL.iter().map(|k| k.label()).collect(),
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn new_item(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
) -> Page {
    let a = editor(actor, &uri)?;
    let form = ItemForm::blank();
    Ok(form_page(&st, a, None, form, FieldErrors::default(), vec![]).await)
}

async fn edit_item(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
) -> Page {
    let a = editor(actor, &uri)?;
    let r = store::item(&st.db, &code)
        .await
        .and_then(|r| r.ok_or_else(|| store::item_not_found(&code)))
        .map_err(shown(&a))?;
    let form = ItemForm::from_item(&r.item, r.version);
    Ok(form_page(&st, a, Some(code), form, FieldErrors::default(), vec![]).await)
}

async fn create_item(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Page {
    let a = editor(actor, &uri)?;
    Ok(submit(&st, a, None, ItemForm::from_pairs(&pairs)).await)
}

async fn save_item(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Page {
    let a = editor(actor, &uri)?;
    Ok(submit(&st, a, Some(code), ItemForm::from_pairs(&pairs)).await)
}

/// Saves a posted form, or shows it again with every problem next to its field; nothing is
/// saved unless there are none.
async fn submit(st: &AppState, actor: Actor, code: Option<String>, form: ItemForm) -> Response {
    let (item, lines, form_problems) = form.to_item();
    let result = if form_problems.is_empty() {
        save(st, &actor, code.as_deref(), &item, &form.version).await
    } else {
        // Report the validation's findings too, so one round trip shows everything.
        match validate_with_stored(st, &item).await {
            Ok(()) => Err(Error::validation(vec![])),
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(saved) => Redirect::to(&link("/admin/catalogue", &[("saved", &saved)])).into_response(),
        Err(e) if matches!(e.kind, Kind::Invalid | Kind::Conflict | Kind::NotFound) => {
            let general = if e.kind == Kind::Invalid {
                vec![]
            } else {
                vec![e.title.clone()]
            };
            let errors = FieldErrors::collect(form_problems, e.fields, &lines);
            form_page(st, actor, code, form, errors, general).await
        }
        Err(e) => error_page(Some(actor), e),
    }
}

async fn validate_with_stored(st: &AppState, item: &ServiceItem) -> Result<()> {
    let mut known = Known::default();
    if store::department_exists(&st.db, &item.department).await? {
        known.departments.insert(&item.department);
    }
    validate_item(item, &known)
}

async fn save(
    st: &AppState,
    actor: &Actor,
    code: Option<&str>,
    item: &ServiceItem,
    version: &str,
) -> Result<String> {
    let who = actor.event_name();
    let mut tx = st.db.begin().await?;
    let r = match code {
        None => store::create_item(&mut tx, item, &who, st.now()).await?,
        Some(code) => {
            let version: i64 = version.trim().parse().map_err(|_| {
                Error::validation(vec![FieldError {
                    field: "version".into(),
                    message: "版本号缺失，请重新打开编辑页面".into(),
                }])
            })?;
            store::replace_item(&mut tx, code, item, version, &who, st.now()).await?
        }
    };
    tx.commit().await?;
    Ok(r.item.code)
}

async fn set_active(st: &AppState, actor: Actor, code: &str, active: bool) -> Response {
    let who = actor.event_name();
    let result = async {
        let mut tx = st.db.begin().await?;
        store::set_item_active(&mut tx, code, active, &who, st.now()).await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&link("/admin/catalogue", &[("saved", code)])).into_response(),
        Err(e) => error_page(Some(actor), e),
    }
}

async fn retire(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
) -> Page {
    let a = editor(actor, &uri)?;
    Ok(set_active(&st, a, &code, false).await)
}

async fn reactivate(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
) -> Page {
    let a = editor(actor, &uri)?;
    Ok(set_active(&st, a, &code, true).await)
}

#[derive(Deserialize)]
struct DepartmentForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

async fn add_department(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<DepartmentForm>,
) -> Page {
    let a = editor(actor, &uri)?;
    let d = Department {
        code: f.code.trim().to_string(),
        name: f.name.trim().to_string(),
        region: None,
    };
    let who = a.event_name();
    let result = async {
        let mut tx = st.db.begin().await?;
        store::create_department(&mut tx, &d, &who, st.now()).await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            Ok(Redirect::to(&link("/admin/catalogue", &[("saved", &d.code)])).into_response())
        }
        Err(e) if matches!(e.kind, Kind::Invalid | Kind::Conflict) => {
            let mut lines = vec![e.title.clone()];
            lines.extend(e.fields.into_iter().map(|f| f.message));
            let mut r = list_page(&st, a.clone(), None, None, None, lines)
                .await
                .map_err(shown(&a))?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(error_page(Some(a), e)),
    }
}

#[derive(Template)]
#[template(path = "admin/import_result.html")]
struct ImportPage {
    layout: Layout,
    summary: Option<ImportSummary>,
    title: String,
    problems: Vec<FieldError>,
}

async fn import(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    mut multipart: Multipart,
) -> Page {
    let a = editor(actor, &uri)?;
    let mut bytes = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            bytes = field.bytes().await.ok();
        }
    }
    let result = match bytes.filter(|b| !b.is_empty()) {
        None => Err(Error::invalid("no_file", "请选择要导入的文件")),
        Some(b) => import_file(&st.db, &b, &a.event_name(), st.now()).await,
    };
    let (status, page) = match result {
        Ok(summary) => (
            StatusCode::OK,
            ImportPage {
                layout: Layout::new("导入结果", Some(a)),
                title: if summary.changed() {
                    "导入成功".into()
                } else {
                    "导入完成：内容与现有目录相同，没有变化".into()
                },
                summary: Some(summary),
                problems: vec![],
            },
        ),
        Err(e) if e.kind == Kind::Internal => return Err(error_page(Some(a), e)),
        Err(e) => (
            crate::error::status_of(e.kind),
            ImportPage {
                layout: Layout::new("导入失败", Some(a)),
                title: e.title,
                summary: None,
                problems: e.fields,
            },
        ),
    };
    let mut r = render(&page);
    *r.status_mut() = status;
    Ok(r)
}
