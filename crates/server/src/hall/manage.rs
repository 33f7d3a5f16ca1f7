//! The hall manager's set-up page, `/halls/{hall}/manage`: the hall's queues and windows, and
//! forms to add or change a queue, add or change a window (its kind and the queues it serves in order of
//! preference) and change the main settings. Each form calls the same service function as the
//! API; on bad input the page comes back with the values kept, a message next to each wrong
//! field, status 422, and nothing changed.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveTime;
use serde::Deserialize;
use yichuang_domain::demo::WindowKind;
use yichuang_domain::queue::window::WindowStatus;
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::hall as store;

use super::pages::{QueueLine, queue_lines};
use super::setup::{
    QueueBody, QueueChange, WindowBody, WindowChange, add_queue, add_window, change_queue,
    change_window, hall_view, parse_kind, update_settings,
};
use super::{HallSettings, require_hall_manager};
use crate::accounts::{FormErrors, Page, forbidden_page, render_form, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::Layout;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls/{hall}/manage", get(manage))
        .route("/halls/{hall}/manage/queues", post(post_queue))
        .route("/halls/{hall}/manage/windows", post(post_window))
        .route(
            "/halls/{hall}/manage/windows/{id}",
            post(post_window_change),
        )
        .route(
            "/halls/{hall}/manage/queues/{queue}",
            post(post_queue_change),
        )
        .route("/halls/{hall}/manage/settings", post(post_settings))
}

/// A window row of the set-up page.
pub struct WindowLine {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub queues: String,
    pub status: String,
    pub staff: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct QueueForm {
    code: String,
    name: String,
    prefix: String,
}

#[derive(Default, Clone)]
struct WindowForm {
    code: String,
    name: String,
    kind: String,
    queues: Vec<String>,
}

/// One choice of a preference list: (queue code, queue name, chosen).
type Choice = (String, String, bool);

/// One field of the settings form.
pub struct SettingField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// `number`, `checkbox`, `time` or `text`.
    pub kind: &'static str,
    pub value: String,
    /// The heading of the group this field opens, if it opens one.
    pub heading: &'static str,
}

#[derive(Template)]
#[template(path = "hall_manage.html")]
struct ManagePage {
    layout: Layout,
    hall: String,
    name: String,
    queues: Vec<QueueLine>,
    windows: Vec<WindowLine>,
    notice: Option<String>,
    queue_form: QueueForm,
    queue_errors: FormErrors,
    /// The queue the queue form changes (its code); None: the form adds a queue.
    editing_queue: Option<String>,
    window_form: WindowForm,
    window_errors: FormErrors,
    /// The window the form changes (its id); None: the form adds a window.
    editing: Option<i64>,
    kinds: Vec<(&'static str, &'static str)>,
    /// One select per place in the window's order of preference.
    preferences: Vec<Vec<Choice>>,
    settings: Vec<SettingField>,
    settings_errors: FormErrors,
}

/// The settings form's fields, in order, with their values in `s`.
fn setting_fields(s: &HallSettings) -> Vec<SettingField> {
    let a = &s.appointments;
    let w = &s.policy.weights;
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let f = |name, label, hint, kind, value: String| SettingField {
        name,
        label,
        hint,
        kind,
        value,
        heading: match name {
            "limits.per_person_per_day" => "取号",
            "policy.elderly_age" => "优先叫号",
            "tickets.recalls_before_no_show" => "叫号",
            "appointments.slot_minutes" => "预约",
            "day_end" => "日终",
            "kiosk_reset_seconds" => "自助机与纸质凭证",
            _ => "",
        },
    };
    let n = |name, label, hint, v: u32| f(name, label, hint, "number", v.to_string());
    vec![
        f(
            "limits.per_person_per_day",
            "每人每日取号上限",
            "同一身份证号或手机号每天在本大厅最多取号数；留空为不限",
            "number",
            opt(s.limits.per_person_per_day),
        ),
        f(
            "limits.per_address_per_day",
            "每个网络地址每日取号上限",
            "防止黄牛刷号；本大厅自助机等受信地址不受限；留空为不限",
            "number",
            opt(s.limits.per_address_per_day),
        ),
        n(
            "policy.elderly_age",
            "老年人优先年龄（周岁）",
            "按身份证号自动识别",
            s.policy.elderly_age,
        ),
        n(
            "policy.weights.appointment",
            "按时签到的预约者优先分",
            "每等候 1 分钟得“老化分”；优先分相当于提前的分钟数（老化分为 1 时）；0 为不优先",
            w.appointment,
        ),
        n("policy.weights.elderly", "老年人优先分", "", w.elderly),
        n("policy.weights.disabled", "残疾人优先分", "", w.disabled),
        n("policy.weights.military", "军人优先分", "", w.military),
        n("policy.weights.pregnant", "孕妇优先分", "", w.pregnant),
        n(
            "policy.ageing_points_per_minute",
            "每等候 1 分钟的老化分",
            "须大于 0：普通号等得越久越靠前，优先人群再多也不会让普通号一直等下去",
            s.policy.ageing_points_per_minute,
        ),
        n(
            "tickets.recalls_before_no_show",
            "过号前重呼次数",
            "叫号后重呼这么多次仍未到，才能按过号处理",
            s.tickets.recalls_before_no_show,
        ),
        n(
            "appointments.slot_minutes",
            "预约时段长度（分钟）",
            "",
            a.slot_minutes,
        ),
        n(
            "appointments.capacity_per_slot",
            "每时段可约人数",
            "",
            a.capacity_per_slot,
        ),
        n(
            "appointments.horizon_working_days",
            "可预约范围（工作日）",
            "可预约今后多少个工作日",
            a.horizon_working_days,
        ),
        f(
            "appointments.same_day_booking",
            "允许预约当天",
            "",
            "checkbox",
            if a.same_day_booking {
                "on".into()
            } else {
                String::new()
            },
        ),
        n(
            "appointments.max_open_per_person",
            "每人未办理预约上限",
            "",
            a.max_open_per_person,
        ),
        n(
            "appointments.max_per_person_per_day",
            "同一事项每人每天预约上限",
            "",
            a.max_per_person_per_day,
        ),
        n(
            "appointments.change_cutoff_minutes",
            "时段开始前多少分钟起不能取消或改约",
            "0 为开始前均可",
            a.change_cutoff_minutes,
        ),
        n(
            "appointments.max_reschedules",
            "每个预约最多改约次数",
            "",
            a.max_reschedules,
        ),
        n(
            "appointments.check_in_before_minutes",
            "时段开始前可提前签到（分钟）",
            "",
            a.check_in_before_minutes,
        ),
        n(
            "appointments.check_in_after_minutes",
            "时段开始后仍可签到（分钟）",
            "过此时间未签到按爽约处理",
            a.check_in_after_minutes,
        ),
        n(
            "appointments.no_show_threshold",
            "爽约几次暂停预约",
            "",
            a.no_show_threshold,
        ),
        n(
            "appointments.no_show_period_days",
            "爽约统计周期（天）",
            "",
            a.no_show_period_days,
        ),
        n(
            "appointments.block_days",
            "暂停预约天数",
            "0 为不暂停",
            a.block_days,
        ),
        f(
            "day_end",
            "日终关闭时间",
            "此时仍未办理的号票关闭",
            "time",
            s.day_end.format("%H:%M").to_string(),
        ),
        f(
            "day_end_reason",
            "日终关闭原因",
            "显示在被关闭的号票上",
            "text",
            s.day_end_reason.clone(),
        ),
        n(
            "kiosk_reset_seconds",
            "自助机无人操作复位（秒）",
            "号票和输入的内容在无人操作这么久后清除，5–600",
            s.kiosk_reset_seconds,
        ),
        f(
            "phone",
            "大厅咨询电话",
            "印在号票、回执和告知书上",
            "text",
            s.phone.clone(),
        ),
        f(
            "address",
            "大厅地址",
            "印在回执和告知书上",
            "text",
            s.address.clone(),
        ),
    ]
}

/// Reads the settings form over `current`, so settings the form does not show are kept.
/// Every unreadable field is reported at once, with what `validate` finds in the rest.
fn read_settings(current: &HallSettings, form: &[(String, String)]) -> Result<HallSettings> {
    let mut s = current.clone();
    let mut p = Problems::new();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let num = |k: &'static str, p: &mut Problems| -> Option<u32> {
        let v = get(k);
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                p.add(k, "请填写不小于0的整数");
                None
            }
        }
    };
    let opt = |k: &'static str, p: &mut Problems| -> Option<Option<u32>> {
        let v = get(k);
        if v.is_empty() {
            return Some(None);
        }
        match v.parse::<u32>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                p.add(k, "请填写正整数；不限制请留空");
                None
            }
        }
    };
    if let Some(v) = opt("limits.per_person_per_day", &mut p) {
        s.limits.per_person_per_day = v;
    }
    if let Some(v) = opt("limits.per_address_per_day", &mut p) {
        s.limits.per_address_per_day = v;
    }
    let a = &mut s.appointments;
    let weights = &mut s.policy.weights;
    let targets: [(&'static str, &mut u32); 20] = [
        ("policy.elderly_age", &mut s.policy.elderly_age),
        ("policy.weights.appointment", &mut weights.appointment),
        ("policy.weights.elderly", &mut weights.elderly),
        ("policy.weights.disabled", &mut weights.disabled),
        ("policy.weights.military", &mut weights.military),
        ("policy.weights.pregnant", &mut weights.pregnant),
        (
            "policy.ageing_points_per_minute",
            &mut s.policy.ageing_points_per_minute,
        ),
        (
            "tickets.recalls_before_no_show",
            &mut s.tickets.recalls_before_no_show,
        ),
        ("appointments.slot_minutes", &mut a.slot_minutes),
        ("appointments.capacity_per_slot", &mut a.capacity_per_slot),
        (
            "appointments.horizon_working_days",
            &mut a.horizon_working_days,
        ),
        (
            "appointments.max_open_per_person",
            &mut a.max_open_per_person,
        ),
        (
            "appointments.max_per_person_per_day",
            &mut a.max_per_person_per_day,
        ),
        (
            "appointments.change_cutoff_minutes",
            &mut a.change_cutoff_minutes,
        ),
        ("appointments.max_reschedules", &mut a.max_reschedules),
        (
            "appointments.check_in_before_minutes",
            &mut a.check_in_before_minutes,
        ),
        (
            "appointments.check_in_after_minutes",
            &mut a.check_in_after_minutes,
        ),
        ("appointments.no_show_threshold", &mut a.no_show_threshold),
        (
            "appointments.no_show_period_days",
            &mut a.no_show_period_days,
        ),
        ("appointments.block_days", &mut a.block_days),
    ];
    for (k, target) in targets {
        if let Some(v) = num(k, &mut p) {
            *target = v;
        }
    }
    // A checkbox is sent only when ticked.
    a.same_day_booking = form
        .iter()
        .any(|(n, _)| n == "appointments.same_day_booking");
    match NaiveTime::parse_from_str(&get("day_end"), "%H:%M") {
        Ok(t) => s.day_end = t,
        Err(_) => p.add("day_end", "请填写时间，格式 HH:MM，例如 18:00"),
    }
    s.day_end_reason = get("day_end_reason");
    // Fields added later (issue 10): kept as they are when a form does not send them.
    let sent = |k: &str| form.iter().any(|(n, _)| n == k);
    if sent("kiosk_reset_seconds")
        && let Some(v) = num("kiosk_reset_seconds", &mut p)
    {
        s.kiosk_reset_seconds = v;
    }
    if sent("phone") {
        s.phone = get("phone");
    }
    if sent("address") {
        s.address = get("address");
    }
    // Checked here too (the service checks again), so every problem shows at once and at a
    // field of this form.
    if let Err(e) = s.validate() {
        for f in e.fields {
            // The check of the weights together shows at the first weight on the form.
            let field = match f.field.as_str() {
                "policy.weights" => "policy.weights.appointment".to_string(),
                _ => f.field,
            };
            p.add(field, f.message);
        }
    }
    p.finish()?;
    Ok(s)
}

/// The hall's page state before any form was posted.
struct Outcome {
    notice: Option<String>,
    queue_form: QueueForm,
    queue_error: Option<Error>,
    editing_queue: Option<String>,
    window_form: WindowForm,
    window_error: Option<Error>,
    editing: Option<i64>,
    /// The settings as typed, when they were refused.
    settings_form: Option<Vec<(String, String)>>,
    settings_error: Option<Error>,
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome {
            notice: None,
            queue_form: QueueForm::default(),
            queue_error: None,
            editing_queue: None,
            window_form: WindowForm {
                kind: "comprehensive".into(),
                ..WindowForm::default()
            },
            window_error: None,
            editing: None,
            settings_form: None,
            settings_error: None,
        }
    }
}

/// A window's status as people read it (issue 10 item 3: not `open`/`closed`).
pub fn window_status_label(status: &str) -> &'static str {
    WindowStatus::parse(status).map_or(WindowStatus::Closed.label(), WindowStatus::label)
}

/// The name of the hall's queue `code` in the hall's view (its code if it has none).
fn queue_name(v: &serde_json::Value, code: &str) -> String {
    v["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["code"] == code))
        .and_then(|q| q["name"].as_str())
        .unwrap_or(code)
        .to_string()
}

/// The page, or (for a form that failed) the page with its errors and status.
async fn page(st: &AppState, actor: Actor, code: &str, o: Outcome) -> Result<Response> {
    let hall = store::hall(&st.db, code).await?;
    let v = hall_view(&st.db, &hall).await?;
    let windows = v["windows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|w| {
            let s = |k: &str| w[k].as_str().unwrap_or_default().to_string();
            WindowLine {
                id: w["id"].as_i64().unwrap_or(0),
                code: s("code"),
                name: s("name"),
                kind: parse_kind(&s("kind"))
                    .map(|k| k.label().to_string())
                    .unwrap_or_default(),
                queues: w["queues"]
                    .as_array()
                    .map(|q| {
                        // The queues by name, not code (issue 10 item 3).
                        q.iter()
                            .filter_map(|x| x.as_str())
                            .map(|code| queue_name(&v, code))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    })
                    .unwrap_or_default(),
                status: window_status_label(w["status"].as_str().unwrap_or_default()).to_string(),
                staff: s("staff"),
            }
        })
        .collect();
    let queues = queue_lines(&v);
    let places = queues.len().clamp(1, 8);
    let preferences = (0..places)
        .map(|i| {
            queues
                .iter()
                .map(|q| {
                    let chosen = o.window_form.queues.get(i) == Some(&q.code);
                    (q.code.clone(), q.name.clone(), chosen)
                })
                .collect()
        })
        .collect();
    let mut settings = setting_fields(&HallSettings::of(&hall)?);
    if let Some(typed) = &o.settings_form {
        for f in &mut settings {
            let sent = typed
                .iter()
                .find(|(n, _)| n == f.name)
                .map(|(_, v)| v.clone());
            f.value = match (f.kind, sent) {
                ("checkbox", Some(_)) => "on".into(),
                ("checkbox", None) => String::new(),
                (_, v) => v.unwrap_or_default(),
            };
        }
    }
    let error = o
        .queue_error
        .as_ref()
        .or(o.window_error.as_ref())
        .or(o.settings_error.as_ref());
    let p = ManagePage {
        layout: Layout::new(format!("{} · 大厅设置", hall.name), Some(actor)),
        hall: hall.code,
        name: hall.name,
        queues,
        windows,
        notice: o.notice,
        queue_form: o.queue_form,
        editing_queue: o.editing_queue,
        queue_errors: o
            .queue_error
            .as_ref()
            .map(FormErrors::of)
            .unwrap_or_default(),
        window_form: o.window_form,
        editing: o.editing,
        window_errors: o
            .window_error
            .as_ref()
            .map(FormErrors::of)
            .unwrap_or_default(),
        kinds: WindowKind::ALL
            .iter()
            .map(|k| {
                let code = match k {
                    WindowKind::Comprehensive => "comprehensive",
                    WindowKind::Specialist => "specialist",
                    WindowKind::Issuance => "issuance",
                    WindowKind::Unresolved => "unresolved",
                    WindowKind::Agency => "agency",
                };
                (code, k.label())
            })
            .collect(),
        preferences,
        settings,
        settings_errors: o
            .settings_error
            .as_ref()
            .map(FormErrors::of)
            .unwrap_or_default(),
    };
    Ok(render_form(&p, error))
}

/// The signed-in manager of this hall, or the page to send instead.
#[allow(clippy::result_large_err)]
fn manager(actor: Option<Actor>, uri: &Uri, hall: &str) -> std::result::Result<Actor, Response> {
    let actor = require_page_actor(actor, uri, &[Role::Admin, Role::HallManager])?;
    match require_hall_manager(&actor, hall) {
        Ok(()) => Ok(actor),
        Err(e) => Err(forbidden_page(Some(actor), uri, e.title)),
    }
}

fn problem(e: Error) -> Response {
    crate::error::Problem(e).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneQuery {
    done: String,
    /// A window to change: the window form comes filled with it.
    window: Option<i64>,
    /// A queue to change (its code): the queue form comes filled with it.
    queue: Option<String>,
}

async fn manage(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let notice = match q.done.as_str() {
        "queue" => Some("已新建队列".to_string()),
        "window" => Some("已新建窗口".to_string()),
        "window_changed" => Some("窗口已修改，下一次叫号即按新的队列顺序".to_string()),
        "queue_changed" => Some("队列已修改，此后取的号使用新的名称和前缀".to_string()),
        "settings" => Some("设置已保存".to_string()),
        _ => None,
    };
    let mut o = Outcome {
        notice,
        ..Outcome::default()
    };
    if let Some(id) = q.window {
        let w = store::window(&st.db, id).await.map_err(problem)?;
        if w.hall_code != code {
            return Err(problem(Error::not_found(
                "window_not_found",
                format!("本大厅没有窗口 {id}"),
            )));
        }
        let queues = store::window_queues(&st.db, id).await.map_err(problem)?;
        o.window_form = WindowForm {
            code: w.code,
            name: w.name,
            kind: w.kind,
            queues: queues.into_iter().map(|q| q.code).collect(),
        };
        o.editing = Some(id);
    }
    if let Some(queue) = q.queue {
        let hall = store::hall(&st.db, &code).await.map_err(problem)?;
        let queues = store::queues(&st.db, hall.id).await.map_err(problem)?;
        let Some(found) = queues.into_iter().find(|x| x.code == queue) else {
            return Err(problem(Error::not_found(
                "queue_not_found",
                format!("本大厅没有队列 {queue}"),
            )));
        };
        o.queue_form = QueueForm {
            code: found.code,
            name: found.name,
            prefix: found.prefix,
        };
        o.editing_queue = Some(queue);
    }
    page(&st, actor, &code, o).await.map_err(problem)
}

fn done(code: &str, what: &str) -> Response {
    Redirect::to(&format!("/halls/{code}/manage?done={what}")).into_response()
}

async fn post_queue(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
    Form(f): Form<QueueForm>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let body = QueueBody {
        code: f.code.trim().to_string(),
        name: f.name.clone(),
        prefix: f.prefix.trim().to_string(),
    };
    match add_queue(&st, &actor, &code, &body).await {
        Ok(_) => Ok(done(&code, "queue")),
        Err(e) => {
            let o = Outcome {
                queue_form: f,
                queue_error: Some(e),
                ..Outcome::default()
            };
            page(&st, actor, &code, o).await.map_err(problem)
        }
    }
}

/// The window form adding a window.
async fn post_window(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let form = WindowForm::read(&fields);
    let body = WindowBody {
        code: form.code.clone(),
        name: form.name.clone(),
        kind: form.kind.clone(),
        queues: form.queues.clone(),
    };
    match add_window(&st, &actor, &code, &body).await {
        Ok(_) => Ok(done(&code, "window")),
        Err(e) => {
            let o = Outcome {
                window_form: form,
                window_error: Some(e),
                ..Outcome::default()
            };
            page(&st, actor, &code, o).await.map_err(problem)
        }
    }
}

/// The queue form changing queue `queue`: name and prefix (the code stays).
async fn post_queue_change(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path((code, queue)): Path<(String, String)>,
    Form(f): Form<QueueForm>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let change = QueueChange {
        name: f.name.clone(),
        prefix: f.prefix.trim().to_string(),
    };
    match change_queue(&st, &actor, &code, &queue, &change).await {
        Ok(()) => Ok(done(&code, "queue_changed")),
        Err(e) if e.code == "queue_not_found" => Err(problem(e)),
        Err(e) => {
            let o = Outcome {
                queue_form: QueueForm {
                    code: queue.clone(),
                    ..f
                },
                queue_error: Some(e),
                editing_queue: Some(queue),
                ..Outcome::default()
            };
            page(&st, actor, &code, o).await.map_err(problem)
        }
    }
}

impl WindowForm {
    /// The posted window form: `queues` comes once per place of preference, in order; blank
    /// places are skipped.
    fn read(fields: &[(String, String)]) -> WindowForm {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        WindowForm {
            code: get("code"),
            name: get("name"),
            kind: get("kind"),
            queues: fields
                .iter()
                .filter(|(n, v)| n == "queues" && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect(),
        }
    }
}

/// The window form changing window `id`: name, kind and queues (the code stays).
async fn post_window_change(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path((code, id)): Path<(String, i64)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let mut form = WindowForm::read(&fields);
    let change = WindowChange {
        name: form.name.clone(),
        kind: form.kind.clone(),
        queues: form.queues.clone(),
    };
    match change_window(&st, &actor, id, Some(&code), &change).await {
        Ok(()) => Ok(done(&code, "window_changed")),
        Err(e) if e.code == "window_not_found" => Err(problem(e)),
        Err(e) => {
            // The form shows the window's code (read-only); the post does not carry it.
            form.code = store::window(&st.db, id)
                .await
                .map(|w| w.code)
                .unwrap_or_default();
            let o = Outcome {
                window_form: form,
                window_error: Some(e),
                editing: Some(id),
                ..Outcome::default()
            };
            page(&st, actor, &code, o).await.map_err(problem)
        }
    }
}

async fn post_settings(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let actor = manager(actor, &uri, &code)?;
    let result = async {
        let hall = store::hall(&st.db, &code).await?;
        let settings = read_settings(&HallSettings::of(&hall)?, &fields)?;
        update_settings(&st, &actor, &code, settings).await
    }
    .await;
    match result {
        Ok(_) => Ok(done(&code, "settings")),
        Err(e) => {
            let o = Outcome {
                settings_form: Some(fields),
                settings_error: Some(e),
                ..Outcome::default()
            };
            page(&st, actor, &code, o).await.map_err(problem)
        }
    }
}
