//! Help and proxy service (帮办代办, issue 14 part 2): help requests from the kiosk's 帮办代办
//! queue, the phone page, a 办不成事 work order or a key project, each assigned to an agent
//! with a first-contact clock; mandates (授权委托书) in the vault that let an agent file cases
//! and bundles for a principal, every such event recording both; the principal's rating of the
//! agent; the manager's statistics. The rules are `yichuang_domain::agency`.

pub mod api;
pub mod pages;
pub mod views;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::agency::{
    self, HelpRequest, HelpSource, HelpState, Mandate, MandateAction, MandateTarget, MilestonePlan,
    OnBehalf,
};
use yichuang_domain::case::applicant::{Applicant, ApplicantKind};
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::Tx;
use yichuang_store::agency::{self as store, MandateRow, NewMandate, NewRequest, RequestRow};
use yichuang_store::cases::applicants;
use yichuang_store::cases::vault::{self, NewMaterial};

use crate::cases::time::local;
use crate::state::AppState;

/// The vault's material code of a signed mandate.
pub const MANDATE_MATERIAL: &str = "mandate";

/// Staff who work help requests: the hall's agents, its front desk (who hand a visitor over)
/// and its manager.
const STAFF: [Role; 4] = [Role::Admin, Role::HallManager, Role::Agent, Role::Clerk];

pub fn require_staff(actor: &Actor, hall: &str) -> Result<()> {
    actor.require_role(&STAFF, "处理帮办代办")?;
    actor.require_hall(hall, "处理")
}

fn is_manager(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::HallManager)
}

/// The domain's view of a stored request (its clock counts in hall time).
pub fn help_of(r: &RequestRow) -> HelpRequest {
    HelpRequest {
        source: r.source,
        state: r.state,
        agent: r.agent.clone(),
        created_at: local(r.created_at),
        first_contact_at: r.first_contact_at.map(local),
    }
}

/// A mandate as the rules see it: its revocation in hall time.
pub fn mandate_of(row: &MandateRow) -> Mandate {
    Mandate {
        revoked_at: row.revoked_at.map(local),
        ..row.mandate.clone()
    }
}

/// A new help request, as a form or the API gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewHelp {
    pub source: Option<HelpSource>,
    pub citizen_name: String,
    pub citizen_phone: String,
    pub need: String,
    pub work_order: Option<String>,
    pub project: Option<String>,
    pub enterprise: Option<String>,
    pub milestones: Vec<MilestonePlan>,
}

async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: &str,
    by: &str,
    kind: &str,
    id: i64,
    payload: serde_json::Value,
) -> Result<()> {
    crate::hall::record(tx, now, hall, by, kind, ("help_request", id), payload).await?;
    Ok(())
}

async fn insert(
    tx: &mut Tx,
    hall: &str,
    n: &NewHelp,
    source: HelpSource,
    ticket_id: Option<i64>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let link = crate::ratings::new_token()?;
    let id = store::insert_request(
        tx,
        &NewRequest {
            link: &link,
            hall,
            source,
            citizen_name: n.citizen_name.trim(),
            citizen_phone: n.citizen_phone.trim(),
            need: n.need.trim(),
            project: n.project.as_deref().map(str::trim),
            enterprise: n.enterprise.as_deref().map(str::trim),
            ticket_id,
            work_order: n.work_order.as_deref().map(str::trim),
            created_by: by,
        },
        now,
    )
    .await?;
    for (i, m) in n.milestones.iter().enumerate() {
        store::insert_milestone(tx, id, i as i64 + 1, m.title.trim(), m.due_on).await?;
    }
    record(
        tx,
        now,
        hall,
        by,
        "help_request_created",
        id,
        json!({"number": store::number_of(id), "source": source,
               "citizen": mask_name(&n.citizen_name), "phone": mask_phone(&n.citizen_phone),
               "project": n.project, "milestones": n.milestones.len()}),
    )
    .await?;
    Ok(id)
}

/// A help request made by staff (from a work order, for a key project, at the window) or, with
/// no actor, on the public phone page (limited per phone number).
pub async fn create(
    st: &AppState,
    actor: Option<&Actor>,
    hall: &str,
    n: &NewHelp,
) -> Result<RequestRow> {
    yichuang_store::hall::hall(&st.db, hall).await?;
    let now = st.now();
    let source = match actor {
        Some(a) => {
            require_staff(a, hall)?;
            n.source.unwrap_or(HelpSource::Kiosk)
        }
        None => HelpSource::Phone,
    };
    if actor.is_none() {
        // Every field first; the per-phone limit is counted in the write below.
        agency::check_public_request(&n.citizen_name, &n.citizen_phone, &n.need, 0)?;
    }
    let mut p = Problems::new();
    p.check(
        (1..=30).contains(&n.citizen_name.trim().chars().count()),
        "citizen_name",
        "请填写求助人姓名（30 字以内）",
    );
    p.check(
        n.citizen_phone.trim().is_empty()
            || yichuang_domain::identity::parse_mobile(n.citizen_phone.trim()).is_ok(),
        "citizen_phone",
        "手机号码应为 11 位数字",
    );
    p.check(
        n.need.chars().count() <= 500,
        "need",
        "需求说明请在 500 字以内",
    );
    if source == HelpSource::WorkOrder {
        let wo = n.work_order.as_deref().unwrap_or("").trim();
        let known = !wo.is_empty()
            && yichuang_store::work_orders::by_number(&st.db, wo)
                .await
                .is_ok();
        p.check(known, "work_order", "请填写已登记的办不成事工单编号");
    }
    p.finish()?;
    if source == HelpSource::Project {
        let today = local(now).date();
        agency::check_project(
            n.project.as_deref().unwrap_or(""),
            n.enterprise.as_deref().unwrap_or(""),
            &n.milestones,
            today,
        )?;
    }
    let by = crate::hall::actor_name(actor);
    let mut tx = st.db.begin().await?;
    if actor.is_none() {
        let open = store::open_by_phone(&mut tx, n.citizen_phone.trim()).await?;
        agency::check_public_request(&n.citizen_name, &n.citizen_phone, &n.need, open)?;
    }
    let id = insert(&mut tx, hall, n, source, None, &by, now).await?;
    tx.commit().await?;
    store::request(&st.db, id).await
}

/// A ticket taken in the hall's 帮办代办 queue opens a help request for the visitor (inside the
/// ticket's transaction).
pub async fn on_help_ticket(
    tx: &mut Tx,
    hall: &str,
    ticket_id: i64,
    ticket_number: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = NewHelp {
        citizen_name: format!("{ticket_number} 号取号人"),
        need: "在取号机选择了帮办代办".into(),
        ..NewHelp::default()
    };
    insert(tx, hall, &n, HelpSource::Kiosk, Some(ticket_id), by, now).await?;
    Ok(())
}

/// What staff do to a help request.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HelpAct {
    /// The manager hands it to an agent of the hall.
    Assign {
        #[serde(default)]
        agent: String,
    },
    /// An agent takes an unassigned request (我来接).
    Take,
    /// The assigned agent has called or met the citizen.
    Contact,
    /// A key project's milestone is reached (optionally by a case or bundle number).
    Milestone {
        #[serde(default)]
        seq: i64,
        #[serde(default)]
        case_number: Option<String>,
    },
    /// The service is finished.
    Close {
        #[serde(default)]
        note: String,
    },
}

pub async fn act(st: &AppState, actor: &Actor, id: i64, a: &HelpAct) -> Result<RequestRow> {
    let row = store::request(&st.db, id).await?;
    require_staff(actor, &row.hall)?;
    let now = st.now();
    if let HelpAct::Assign { agent } = a {
        if !is_manager(actor) {
            return Err(Error::forbidden("只有大厅管理员可以分派帮办代办员"));
        }
        let ok = yichuang_store::accounts::by_username(&st.db, &agent.trim().to_ascii_lowercase())
            .await?
            .is_some_and(|acc| {
                acc.active
                    && acc.role().ok() == Some(Role::Agent)
                    && acc.hall.as_deref() == Some(row.hall.as_str())
            });
        if !ok {
            return Err(Error::validation(vec![]).field("agent", "请选择本大厅的帮办代办员"));
        }
    }
    if let HelpAct::Milestone {
        case_number: Some(c),
        ..
    } = a
        && !c.trim().is_empty()
        && yichuang_store::cases::records::load(&st.db, c.trim())
            .await
            .is_err()
        && yichuang_store::cases::bundles::load(&st.db, c.trim())
            .await
            .is_err()
    {
        return Err(Error::validation(vec![])
            .field("case_number", format!("没有编号为 {} 的办件", c.trim())));
    }
    let by = actor.event_name();
    let mut tx = st.db.begin().await?;
    let mut row = store::request_for_update(&mut tx, id).await?;
    let mut help = help_of(&row);
    let (kind, payload) = match a {
        HelpAct::Assign { agent } => {
            let agent = agent.trim().to_ascii_lowercase();
            help.assign(&agent)?;
            row.assigned_at = Some(now);
            ("help_request_assigned", json!({ "agent": agent }))
        }
        HelpAct::Take => {
            if actor.role != Role::Agent {
                return Err(Error::forbidden("只有帮办代办员可以接单"));
            }
            if help.state != HelpState::Open {
                return Err(Error::conflict("help_request_taken", "这条求助已有人接单"));
            }
            help.assign(&actor.username)?;
            row.assigned_at = Some(now);
            ("help_request_assigned", json!({"agent": actor.username}))
        }
        HelpAct::Contact => {
            help.contact(&actor.username, local(now))?;
            row.first_contact_at = Some(now);
            ("help_request_contacted", json!({}))
        }
        HelpAct::Milestone { seq, case_number } => {
            may_serve(actor, &help)?;
            let case = case_number
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty());
            if !store::finish_milestone(&mut tx, id, *seq, case, now).await? {
                return Err(Error::conflict(
                    "milestone_not_open",
                    "该节点不存在或已完成",
                ));
            }
            ("help_milestone_reached", json!({"seq": seq, "case": case}))
        }
        HelpAct::Close { note } => {
            may_serve(actor, &help)?;
            if note.chars().count() > 500 {
                return Err(Error::validation(vec![]).field("note", "办结说明请在 500 字以内"));
            }
            help.close()?;
            row.closed_at = Some(now);
            row.close_note = note.trim().to_string();
            ("help_request_closed", json!({"note": note.trim()}))
        }
    };
    row.state = help.state;
    row.agent = help.agent.clone();
    store::save_request(&mut tx, &row).await?;
    record(&mut tx, now, &row.hall.clone(), &by, kind, id, payload).await?;
    tx.commit().await?;
    store::request(&st.db, id).await
}

/// The assigned agent (or the manager) serves a request that is not finished.
fn may_serve(actor: &Actor, help: &HelpRequest) -> Result<()> {
    if is_manager(actor) || help.agent.as_deref() == Some(actor.username.as_str()) {
        Ok(())
    } else {
        Err(Error::forbidden("只有被分派的帮办代办员可以办理这条求助"))
    }
}

/// The principal's rating of the agent, by the request's link (R-EVAL-ONCE).
pub async fn rate(st: &AppState, link: &str, stars: u8, comment: &str) -> Result<RequestRow> {
    let row = store::request_by_link(&st.db, link).await?.ok_or_else(|| {
        Error::not_found("help_request_not_found", "没有找到这条求助，请核对链接")
    })?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let mut row = store::request_for_update(&mut tx, row.id).await?;
    agency::check_rating(row.state, row.rating.is_some(), stars, comment)?;
    row.rating = Some(stars);
    row.rating_comment = comment.trim().to_string();
    row.rated_at = Some(now);
    store::save_request(&mut tx, &row).await?;
    record(
        &mut tx,
        now,
        &row.hall.clone(),
        "applicant:help",
        "help_request_rated",
        row.id,
        json!({"stars": stars, "agent": row.agent, "comment": row.rating_comment}),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A new mandate as the form or the API gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewMandateBody {
    /// The agent it is given to (an agent making its own: itself).
    pub agent: String,
    pub principal_name: String,
    pub principal_id_number: String,
    pub principal_phone: String,
    pub items: Vec<String>,
    pub bundles: Vec<String>,
    pub actions: Vec<MandateAction>,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_until: Option<chrono::NaiveDate>,
    pub request: Option<i64>,
}

/// Records a mandate (and, when given, its signed document in the principal's vault).
pub async fn create_mandate(
    st: &AppState,
    actor: &Actor,
    b: &NewMandateBody,
    document: Option<&[u8]>,
    require_document: bool,
) -> Result<MandateRow> {
    let hall = actor
        .hall
        .clone()
        .ok_or_else(|| Error::forbidden("请使用所属大厅的账号登记授权委托书"))?;
    require_staff(actor, &hall)?;
    let now = st.now();
    let today = local(now).date();
    let agent = if actor.role == Role::Agent {
        actor.username.clone()
    } else {
        b.agent.trim().to_ascii_lowercase()
    };
    let mut p = Problems::new();
    let agent_ok = yichuang_store::accounts::by_username(&st.db, &agent)
        .await?
        .is_some_and(|a| {
            a.active && a.role().ok() == Some(Role::Agent) && a.hall.as_deref() == Some(&hall)
        });
    p.check(agent_ok, "agent", "请选择本大厅的帮办代办员");
    p.check(
        yichuang_domain::identity::parse_mobile(b.principal_phone.trim()).is_ok(),
        "principal_phone",
        "请填写委托人的 11 位手机号码（用于办件通知）",
    );
    for code in &b.items {
        if crate::cases::items::current_item(&st.db, code)
            .await
            .is_err()
        {
            p.add("items", format!("没有编码为 {code} 的事项"));
        }
    }
    for code in &b.bundles {
        if crate::cases::items::current_bundle(&st.db, code)
            .await
            .is_err()
        {
            p.add("bundles", format!("没有编码为 {code} 的一件事套餐"));
        }
    }
    p.check(b.valid_from.is_some(), "valid_from", "请填写委托起始日期");
    p.check(b.valid_until.is_some(), "valid_until", "请填写委托截止日期");
    match document {
        Some(d) => {
            if let Err(e) = vault::check_upload(d) {
                p.add("document", e.title);
            }
        }
        None if require_document => p.add(
            "document",
            "请上传委托人签字的授权委托书扫描件（PDF、JPG 或 PNG）",
        ),
        None => {}
    }
    if let Some(r) = b.request {
        match store::request(&st.db, r).await {
            Ok(row) if row.hall == hall => {}
            _ => p.add("request", "没有这条帮办代办求助"),
        }
    }
    let principal_id = b.principal_id_number.trim().to_ascii_uppercase();
    let mut m = Mandate {
        agent: agent.clone(),
        principal_name: b.principal_name.trim().to_string(),
        principal_id_number: principal_id.clone(),
        items: b.items.clone(),
        bundles: b.bundles.clone(),
        actions: b.actions.clone(),
        valid_from: b.valid_from.unwrap_or(today),
        valid_until: b.valid_until.unwrap_or(today),
        revoked_at: None,
        document: None,
    };
    let checked = m.validate(today);
    if let Err(e) = checked {
        for f in e.fields {
            p.add(f.field, f.message);
        }
    }
    p.finish()?;
    let blobs = crate::cases::vault::blob_store(st).await?;
    let by = actor.event_name();
    let mut written = Vec::new();
    let saved = async {
        let file = match document {
            Some(bytes) => Some(vault::prepare_blob(&blobs, bytes, &mut written).await?),
            None => None,
        };
        let mut tx = st.db.begin().await?;
        let applicant_id = applicants::upsert(
            &mut tx,
            &Applicant {
                kind: ApplicantKind::Person,
                name: m.principal_name.clone(),
                id_number: principal_id.clone(),
                phone: b.principal_phone.trim().to_string(),
            },
            now,
        )
        .await?;
        if let Some(file) = &file {
            let doc = Document {
                applicant_id,
                valid_until: m.valid_until,
                file,
            };
            m.document = Some(store_document(&mut tx, &blobs, &doc, now, &mut written).await?);
        }
        let number = store::next_mandate_number(&mut tx, today).await?;
        let id = store::insert_mandate(
            &mut tx,
            &NewMandate {
                number: &number,
                hall: &hall,
                applicant_id,
                request_id: b.request,
                mandate: &m,
                created_by: &by,
            },
            now,
        )
        .await?;
        mandate_event(
            &mut tx,
            now,
            &hall,
            &by,
            "mandate_recorded",
            &number,
            json!({"agent": agent, "principal": m.principal_masked(), "scope": m.scope_label(),
                   "valid_from": m.valid_from, "valid_until": m.valid_until,
                   "document": m.document, "request": b.request, "id": id}),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(number)
    }
    .await;
    match saved {
        Ok(number) => store::mandate(&st.db, &number).await,
        Err(e) => {
            blobs.discard(&st.db, &written).await;
            Err(e)
        }
    }
}

/// A signed mandate as the principal's vault keeps it.
struct Document<'a> {
    applicant_id: i64,
    valid_until: chrono::NaiveDate,
    file: &'a vault::Prepared<'a>,
}

/// Stores the signed document in the principal's vault (material `mandate`, valid as long as
/// the mandate); a file written again under the lock goes to `written` too.
async fn store_document(
    tx: &mut Tx,
    blobs: &vault::BlobStore,
    d: &Document<'_>,
    now: DateTime<Utc>,
    written: &mut Vec<String>,
) -> Result<String> {
    let stored = vault::store(
        tx,
        blobs,
        &NewMaterial {
            applicant_id: d.applicant_id,
            material_code: MANDATE_MATERIAL,
            name: "授权委托书",
            valid_until: Some(d.valid_until),
            source_case: None,
        },
        d.file,
        now,
    )
    .await?;
    vault::note_written(written, &stored.sha256, stored.new_file);
    Ok(stored.sha256)
}

async fn mandate_event(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: &str,
    by: &str,
    kind: &str,
    number: &str,
    payload: serde_json::Value,
) -> Result<()> {
    yichuang_store::events::append_in_hall(
        tx,
        now,
        hall,
        yichuang_store::events::NewEvent {
            actor: by,
            kind,
            subject_type: "mandate",
            subject_id: number,
            payload,
        },
    )
    .await?;
    Ok(())
}

/// Stores the signed document of a mandate recorded without it.
pub async fn attach_document(
    st: &AppState,
    actor: &Actor,
    number: &str,
    bytes: &[u8],
) -> Result<MandateRow> {
    let row = store::mandate(&st.db, number).await?;
    require_staff(actor, &row.hall)?;
    if row.mandate.document.is_some() {
        return Err(Error::conflict(
            "mandate_document_present",
            "该授权委托书已存有签字的扫描件",
        ));
    }
    vault::check_upload(bytes)?;
    let blobs = crate::cases::vault::blob_store(st).await?;
    let now = st.now();
    let by = actor.event_name();
    let mut written = Vec::new();
    let saved = async {
        let file = vault::prepare_blob(&blobs, bytes, &mut written).await?;
        let mut tx = st.db.begin().await?;
        let doc = Document {
            applicant_id: row.applicant_id,
            valid_until: row.mandate.valid_until,
            file: &file,
        };
        let sha = store_document(&mut tx, &blobs, &doc, now, &mut written).await?;
        store::set_document(&mut tx, row.id, &sha).await?;
        mandate_event(
            &mut tx,
            now,
            &row.hall,
            &by,
            "mandate_document_stored",
            &row.number,
            json!({"sha256": sha, "size": bytes.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = saved {
        blobs.discard(&st.db, &written).await;
        return Err(e);
    }
    store::mandate(&st.db, number).await
}

/// The principal withdraws the mandate (recorded by staff); from now on it acts no more.
pub async fn revoke(st: &AppState, actor: &Actor, number: &str) -> Result<MandateRow> {
    let row = store::mandate(&st.db, number).await?;
    require_staff(actor, &row.hall)?;
    let now = st.now();
    mandate_of(&row).revoke(local(now))?;
    let by = actor.event_name();
    let mut tx = st.db.begin().await?;
    if !store::revoke_mandate(&mut tx, row.id, now).await? {
        return Err(Error::conflict("mandate_revoked", "该授权委托书已撤销"));
    }
    mandate_event(
        &mut tx,
        now,
        &row.hall,
        &by,
        "mandate_revoked",
        &row.number,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    store::mandate(&st.db, number).await
}

/// The actor an application is filed as: an agent naming a mandate acts for its principal
/// once the mandate allows it (R-MANDATE, refused with 403 and the scope otherwise); anyone
/// else is themselves, and a mandate named by someone who is not an agent is refused.
pub async fn acting_for(
    st: &AppState,
    actor: &Actor,
    mandate: Option<&str>,
    principal_id_number: &str,
    target: &MandateTarget,
    action: MandateAction,
) -> Result<Actor> {
    let Some(number) = mandate.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(actor.clone());
    };
    if actor.role != Role::Agent {
        return Err(Error::forbidden("只有帮办代办员可以凭授权委托书代为办理"));
    }
    let row = store::mandate(&st.db, number).await?;
    let m = mandate_of(&row);
    m.authorise(
        &actor.username,
        principal_id_number,
        target,
        action,
        local(st.now()),
    )?;
    Ok(Actor {
        on_behalf: Some(OnBehalf::new(&row.number, &actor.display_name, &m)),
        ..actor.clone()
    })
}

/// [`acting_for`] on a bundle already filed: the principal is its applicant (by the applicant
/// the mandate names; another person's bundle is refused as another principal).
pub async fn acting_for_bundle(
    st: &AppState,
    actor: &Actor,
    mandate: Option<&str>,
    number: &str,
    action: MandateAction,
) -> Result<Actor> {
    let Some(m) = mandate.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(actor.clone());
    };
    let row = yichuang_store::cases::bundles::load(&st.db, number.trim()).await?;
    let mandate_row = store::mandate(&st.db, m).await?;
    let principal = if mandate_row.applicant_id == row.applicant_id {
        mandate_row.mandate.principal_id_number.clone()
    } else {
        String::new()
    };
    acting_for(
        st,
        actor,
        Some(m),
        &principal,
        &MandateTarget::Bundle(row.bundle.clone()),
        action,
    )
    .await
}

/// One agent's figures for the manager.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentStats {
    pub agent: String,
    pub agent_name: String,
    pub requests: usize,
    pub open: usize,
    pub closed: usize,
    /// Of those contacted: the share contacted within one working day, in per cent.
    pub first_contact_on_time_pct: Option<u32>,
    /// Requests whose first contact is overdue now (red light).
    pub late_now: usize,
    pub ratings: usize,
    /// Mean stars, one decimal.
    pub average_stars: Option<f64>,
    pub mandates: usize,
}

/// The figures of each agent of a hall, from its requests and mandates.
pub async fn stats(st: &AppState, hall: &str) -> Result<Vec<AgentStats>> {
    let region = yichuang_store::hall::hall_region(&st.db, hall).await?;
    let cal = crate::calendar::current(st, region.as_deref()).await?;
    let today = local(st.now()).date();
    let requests = store::requests(&st.db, Some(hall), None).await?;
    let mandates = store::mandates(&st.db, Some(hall), None).await?;
    let accounts = yichuang_store::accounts::list(&st.db, Some(hall)).await?;
    let mut out = Vec::new();
    for a in accounts
        .iter()
        .filter(|a| a.role().ok() == Some(Role::Agent))
    {
        let mine: Vec<&RequestRow> = requests
            .iter()
            .filter(|r| r.agent.as_deref() == Some(a.username.as_str()))
            .collect();
        let helps: Vec<HelpRequest> = mine.iter().map(|r| help_of(r)).collect();
        let contacted: Vec<bool> = helps
            .iter()
            .filter_map(|h| h.first_contact_on_time(&*cal))
            .collect();
        let rated: Vec<u8> = mine.iter().filter_map(|r| r.rating).collect();
        out.push(AgentStats {
            agent: a.username.clone(),
            agent_name: a.display_name.clone(),
            requests: mine.len(),
            open: mine.iter().filter(|r| r.state != HelpState::Closed).count(),
            closed: mine.iter().filter(|r| r.state == HelpState::Closed).count(),
            first_contact_on_time_pct: (!contacted.is_empty())
                .then(|| (contacted.iter().filter(|x| **x).count() * 100 / contacted.len()) as u32),
            late_now: helps
                .iter()
                .filter(|h| {
                    h.first_contact_light(&*cal, today)
                        == Some(yichuang_domain::supervision::Light::Red)
                })
                .count(),
            ratings: rated.len(),
            average_stars: (!rated.is_empty()).then(|| {
                let sum: u32 = rated.iter().map(|s| u32::from(*s)).sum();
                (f64::from(sum) * 10.0 / rated.len() as f64).round() / 10.0
            }),
            mandates: mandates
                .iter()
                .filter(|m| m.mandate.agent == a.username)
                .count(),
        });
    }
    Ok(out)
}

/// Names for views: staff by username, items and bundles by code.
pub struct Names {
    people: crate::people::People,
    bundles: std::collections::HashMap<String, String>,
}

impl Names {
    pub async fn load(st: &AppState) -> Names {
        let bundles = crate::cases::items::bundle_names(&st.db)
            .await
            .into_iter()
            .collect();
        Names {
            people: crate::people::People::load(st).await,
            bundles,
        }
    }

    pub fn staff(&self, username: &str) -> String {
        self.people.who(&format!("agent:{username}"))
    }

    pub fn item(&self, code: &str) -> String {
        self.people.item(code)
    }

    pub fn bundle(&self, code: &str) -> String {
        self.bundles
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }
}

/// A request as `viewer` sees it, with its milestones and the hall's calendar.
pub async fn request_view(
    st: &AppState,
    r: &RequestRow,
    viewer: Option<&Actor>,
    names: &Names,
) -> Result<views::HelpRequestView> {
    let region = yichuang_store::hall::hall_region(&st.db, &r.hall).await?;
    let cal = crate::calendar::current(st, region.as_deref()).await?;
    let milestones = store::milestones(&st.db, r.id).await?;
    Ok(views::HelpRequestView::of(
        r,
        &milestones,
        viewer,
        &|u| names.staff(u),
        &*cal,
        local(st.now()).date(),
    ))
}

pub fn mandate_view(st: &AppState, row: &MandateRow, names: &Names) -> views::MandateView {
    views::MandateView::of(
        row,
        &|u| names.staff(u),
        &|c| names.item(c),
        &|c| names.bundle(c),
        local(st.now()).date(),
    )
}

/// The requests `actor` works: an agent's own and those nobody took yet; the hall's for the
/// manager and the front desk.
pub async fn worklist(st: &AppState, actor: &Actor, hall: &str) -> Result<Vec<RequestRow>> {
    require_staff(actor, hall)?;
    let all = store::requests(&st.db, Some(hall), None).await?;
    Ok(match actor.role {
        Role::Agent => all
            .into_iter()
            .filter(|r| {
                r.agent.as_deref() == Some(actor.username.as_str()) || r.state == HelpState::Open
            })
            .collect(),
        _ => all,
    })
}

/// A request by its number (`BB000012`), for staff of its hall.
pub async fn request_for(st: &AppState, actor: &Actor, number: &str) -> Result<RequestRow> {
    let id = store::id_of(number)
        .ok_or_else(|| Error::not_found("help_request_not_found", "没有找到这条帮办代办求助"))?;
    let r = store::request(&st.db, id).await?;
    require_staff(actor, &r.hall)?;
    Ok(r)
}

/// A mandate for staff of its hall.
pub async fn mandate_for(st: &AppState, actor: &Actor, number: &str) -> Result<MandateRow> {
    let m = store::mandate(&st.db, number).await?;
    require_staff(actor, &m.hall)?;
    Ok(m)
}

/// How a bundle filed under a mandate reads (`代办员 … 代 …（委托人）办理`), from its
/// `bundle_case_received` event; `None` for one the front desk filed.
pub async fn bundle_filed_for(st: &AppState, number: &str) -> Option<String> {
    let events = yichuang_store::events::for_subject(&st.db, "bundle_case", number)
        .await
        .ok()?;
    let received = events.iter().find(|e| e.kind == "bundle_case_received")?;
    let payload: serde_json::Value = serde_json::from_str(&received.payload).ok()?;
    let ob: OnBehalf = serde_json::from_value(payload.get("on_behalf_of")?.clone()).ok()?;
    Some(format!("{}（授权委托书 {}）", ob.label(), ob.mandate))
}

/// The demo's help requests in the hall `YL-ZWFW` (if it and its agent `heping` exist): one
/// asked on the phone and waiting, one the agent is serving, and a key project with its
/// milestones. A mandate is not made up: the agent records one with a signed scan.
pub async fn load_demo(db: &yichuang_store::Db, now: DateTime<Utc>) -> Result<()> {
    const HALL: &str = "YL-ZWFW";
    if yichuang_store::hall::hall(db, HALL).await.is_err()
        || yichuang_store::accounts::by_username(db, "heping")
            .await?
            .is_none()
        || !store::requests(db, Some(HALL), None).await?.is_empty()
    {
        return Ok(());
    }
    let today = local(now).date();
    let by = "system:demo";
    let asks = [
        (
            HelpSource::Phone,
            NewHelp {
                citizen_name: "李秀英".into(),
                citizen_phone: "13987001234".into(),
                need: "老伴去世，要办养老金停发和丧葬补助，不知道去哪些窗口".into(),
                ..NewHelp::default()
            },
            false,
        ),
        (
            HelpSource::Kiosk,
            NewHelp {
                citizen_name: "王德福".into(),
                citizen_phone: "13987005678".into(),
                need: "开一家小饭馆，营业执照和食品经营许可一起办".into(),
                ..NewHelp::default()
            },
            true,
        ),
        (
            HelpSource::Project,
            NewHelp {
                citizen_name: "赵建国".into(),
                citizen_phone: "13987009012".into(),
                need: "新材料厂房项目从立项到施工许可全程代办".into(),
                project: Some("云岭新材料厂房".into()),
                enterprise: Some("云岭新材料科技有限公司".into()),
                milestones: vec![
                    MilestonePlan {
                        title: "立项备案".into(),
                        due_on: today + chrono::Days::new(14),
                    },
                    MilestonePlan {
                        title: "建设用地规划许可".into(),
                        due_on: today + chrono::Days::new(45),
                    },
                    MilestonePlan {
                        title: "施工许可".into(),
                        due_on: today + chrono::Days::new(120),
                    },
                ],
                ..NewHelp::default()
            },
            true,
        ),
    ];
    for (source, n, assigned) in asks {
        let mut tx = db.begin().await?;
        let id = insert(&mut tx, HALL, &n, source, None, by, now).await?;
        if assigned {
            let mut row = store::request_for_update(&mut tx, id).await?;
            let mut help = help_of(&row);
            help.assign("heping")?;
            row.state = help.state;
            row.agent = help.agent;
            row.assigned_at = Some(now);
            store::save_request(&mut tx, &row).await?;
            record(
                &mut tx,
                now,
                HALL,
                by,
                "help_request_assigned",
                id,
                json!({"agent": "heping"}),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
