//! 一件事一次办: one application, one parent case and a sub-case per member item. Members
//! without prerequisites are received at once (parallel, 并联); the others when every
//! prerequisite is approved (serial, 串联). Materials are given once, to the parent: shared
//! materials stand for the member materials they cover, and a later member receives what the
//! parent holds. Each question of the members' situations is asked once and each member takes
//! the answers to its own questions. Accepted members go to their departments at once. The
//! parent shows which sub-case holds it up (`bundle_progress`), one clock for the whole, one
//! one-time notice listing everything any member still lacks, and one issuance.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yichuang_domain::agency::{MandateAction, MandateTarget};
use yichuang_domain::case::applicant::required_materials;
use yichuang_domain::case::bundle::{MemberStage, bundle_progress};
use yichuang_domain::case::process::StepAction;
use yichuang_domain::case::state::{Decision, DeemedStep, Issuance};
use yichuang_domain::case::{
    Applicant, Case, CaseStatus, Command, Delivery, Outcome, Receipt, ReceiptKey, Warning,
};
use yichuang_domain::catalogue::{Bundle, ServiceItem, Situation};
use yichuang_domain::{Actor, Error, Problems, Result};
use yichuang_store::Tx;
use yichuang_store::cases::bundles::{self, BundleCaseRow, NewBundleCase};
use yichuang_store::cases::records::{self, Receipts};
use yichuang_store::cases::{applicants, definitions};
use yichuang_store::events::{self, NewEvent};

use super::items;
use super::service::{self, Env};
use super::time::utc;
use crate::clock::hall_time;

use crate::state::AppState;

/// The member materials `given` stands for: a shared material's covered materials, a
/// member's own code (`CODE` or `ITEM:CODE`).
fn materials_for(bundle: &Bundle, item: &ServiceItem, given: &[String]) -> Vec<String> {
    let own = |code: &str| item.materials.iter().any(|m| m.code == code);
    let mut out = BTreeSet::new();
    for g in given {
        if let Some(shared) = bundle.shared_materials.iter().find(|s| &s.code == g) {
            out.extend(
                shared
                    .covers
                    .iter()
                    .filter(|r| r.item == item.code)
                    .map(|r| r.material.clone()),
            );
        } else if let Some((i, code)) = g.split_once(':') {
            if i == item.code && own(code) {
                out.insert(code.to_string());
            }
        } else if own(g) {
            out.insert(g.clone());
        }
    }
    out.into_iter().collect()
}

/// The answers that concern `item` (the parent holds the answers to every member's questions).
pub fn answers_for(
    item: &ServiceItem,
    answers: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    answers
        .iter()
        .filter(|(q, _)| item.situations.iter().any(|s| &s.code == *q))
        .map(|(q, a)| (q.clone(), a.clone()))
        .collect()
}

/// The questions of all members, each once (the first member asking it words it).
pub fn questions(members: &[ServiceItem]) -> Vec<Situation> {
    let mut out: Vec<Situation> = Vec::new();
    for s in members.iter().flat_map(|i| &i.situations) {
        if !out.iter().any(|o| o.code == s.code) {
            out.push(s.clone());
        }
    }
    out
}

/// The key a member material is asked for under: the shared material that covers it, else
/// `ITEM:CODE`.
fn key_of(bundle: &Bundle, item: &str, material: &str) -> String {
    bundle
        .shared_materials
        .iter()
        .find(|s| {
            s.covers
                .iter()
                .any(|r| r.item == item && r.material == material)
        })
        .map_or_else(|| format!("{item}:{material}"), |s| s.code.clone())
}

/// One line of the bundle's checklist: a shared material (asked once for several members) or a
/// member's own material.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistEntry {
    /// The shared material's code, or `ITEM:CODE`.
    pub key: String,
    pub name: String,
    /// Names of the member items it serves.
    pub items: Vec<String>,
    /// When it is needed only for some answers: "问题：选项、选项".
    pub condition: Option<String>,
    pub shared: bool,
}

/// The checklist of a bundle: the shared materials first, then each member's own materials
/// that no shared material covers.
pub fn checklist(bundle: &Bundle, members: &[ServiceItem]) -> Vec<ChecklistEntry> {
    let name_of = |code: &str| {
        members
            .iter()
            .find(|i| i.code == code)
            .map_or_else(|| code.to_string(), |i| i.name.clone())
    };
    let mut out: Vec<ChecklistEntry> = bundle
        .shared_materials
        .iter()
        .map(|s| {
            let mut items: Vec<String> = s.covers.iter().map(|r| name_of(&r.item)).collect();
            items.dedup();
            ChecklistEntry {
                key: s.code.clone(),
                name: s.name.clone(),
                items,
                condition: None,
                shared: true,
            }
        })
        .collect();
    for item in members {
        for m in &item.materials {
            let key = key_of(bundle, &item.code, &m.code);
            if key.contains(':') {
                let condition = m.required_if.as_ref().map(|r| {
                    let s = item.situations.iter().find(|s| s.code == r.question);
                    let labels: Vec<String> = r
                        .answers
                        .iter()
                        .map(|a| {
                            s.and_then(|s| s.options.iter().find(|o| &o.code == a))
                                .map_or_else(|| a.clone(), |o| o.label.clone())
                        })
                        .collect();
                    format!(
                        "{}：{}",
                        s.map_or(r.question.as_str(), |s| s.question.as_str()),
                        labels.join("、")
                    )
                });
                out.push(ChecklistEntry {
                    key,
                    name: m.name.clone(),
                    items: vec![item.name.clone()],
                    condition,
                    shared: false,
                });
            }
        }
    }
    out
}

/// The clerk that receives later members on the bundle's behalf (the parent's receipt
/// covered them).
fn bundle_clerk(hall: Option<&str>) -> Actor {
    Actor::bundle_desk(hall.map(str::to_string))
}

async fn bundle_of(state: &AppState, row: &BundleCaseRow) -> Result<Bundle> {
    definitions::bundle_version(&state.db, &row.bundle, row.bundle_version)
        .await?
        .ok_or_else(|| {
            Error::internal(format!(
                "bundle {} v{} missing",
                row.bundle, row.bundle_version
            ))
        })
}

/// The member items as new sub-cases receive them.
pub async fn member_items(state: &AppState, bundle: &Bundle) -> Result<Vec<ServiceItem>> {
    let mut out = Vec::new();
    for m in &bundle.items {
        out.push(items::current_item(&state.db, &m.item).await?.1);
    }
    Ok(out)
}

/// Receives the members whose prerequisites are approved and that have no sub-case yet.
pub async fn start_ready(
    tx: &mut Tx,
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    parent: &str,
) -> Result<()> {
    let row = bundles::load_for_update(tx, parent).await?;
    let env = &Env::at(state, now, row.hall.as_deref()).await?;
    let bundle = bundle_of(state, &row).await?;
    let mut cases = Vec::new();
    for n in records::children_in(tx, parent).await? {
        cases.push(records::load_for_update(tx, &n).await?.case);
    }
    let applicant = cases.first().map(|c| c.applicant.clone());
    let progress = bundle_progress(&bundle, &cases.iter().collect::<Vec<_>>());
    let actor = bundle_clerk(row.hall.as_deref());
    for m in progress.members {
        if m.stage != MemberStage::Ready || m.number.is_some() {
            continue;
        }
        let (item_version, item) = items::current_item(&state.db, &m.item).await?;
        let process = items::process_for(&state.db, &item).await?;
        let Some(applicant) = applicant.clone() else {
            return Err(Error::internal("a bundle without sub-cases"));
        };
        let receipt = Receipt {
            number: String::new(),
            materials: materials_for(&bundle, &item, &row.materials()),
            answers: answers_for(&item, &row.answers()),
            parent: Some(row.number.clone()),
            applicant,
        };
        service::receive_in(
            tx,
            env,
            &actor,
            service::Channel::WindowRouted,
            item_version,
            item,
            process,
            receipt,
        )
        .await?;
    }
    Ok(())
}

pub struct BundleApplication {
    pub bundle: String,
    pub applicant: Applicant,
    pub materials: Vec<String>,
    pub answers: BTreeMap<String, String>,
    /// The queue ticket the applicant came with, if any (for the record).
    pub ticket: Option<String>,
    /// The mandate an agent files under (授权委托书 number), if any.
    pub mandate: Option<String>,
    /// The submission's key: sent again, it answers the bundle the first made.
    pub key: Option<ReceiptKey>,
}

/// Checks the answers (every member's question answered once, with one of its options) and the
/// material codes (shared codes, `ITEM:CODE` or a member's own code).
fn check_application(
    bundle: &Bundle,
    members: &[ServiceItem],
    answers: &BTreeMap<String, String>,
    materials: &[String],
    p: &mut Problems,
) {
    let qs = questions(members);
    for q in &qs {
        match answers.get(&q.code) {
            None => p.add(
                format!("answers.{}", q.code),
                format!("请回答办理情形：{}", q.question),
            ),
            Some(a) if !q.options.iter().any(|o| &o.code == a) => p.add(
                format!("answers.{}", q.code),
                format!("“{}”没有选项“{}”", q.question, a),
            ),
            Some(_) => {}
        }
    }
    for k in answers.keys() {
        if !qs.iter().any(|q| &q.code == k) {
            p.add(
                format!("answers.{k}"),
                format!("“{}”的事项都没有办理情形“{k}”", bundle.name),
            );
        }
    }
    for g in materials {
        let known = bundle.shared_materials.iter().any(|s| &s.code == g)
            || members
                .iter()
                .any(|i| !materials_for(bundle, i, std::slice::from_ref(g)).is_empty());
        if !known {
            p.add(
                "materials",
                format!("材料编码“{g}”不属于“{}”的任何事项", bundle.name),
            );
        }
    }
}

/// Receives a bundle application: the parent case and the sub-cases that may start now, in
/// one transaction (bad input leaves nothing behind). Members accepted at once go to their
/// departments.
pub async fn receive(state: &AppState, actor: &Actor, app: BundleApplication) -> Result<String> {
    // An agent files for the principal its mandate names (R-MANDATE); every event of the
    // bundle and its members then records both.
    let acting = crate::agency::acting_for(
        state,
        actor,
        app.mandate.as_deref(),
        &app.applicant.id_number,
        &MandateTarget::Bundle(app.bundle.trim().to_string()),
        MandateAction::Apply,
    )
    .await?;
    let actor = &acting;
    yichuang_domain::agency::require_front_desk(actor, "收件")?;
    service::once_per_key(
        state,
        Receipts::Bundles,
        app.key.as_ref(),
        receive_bundle(state, actor, &app),
        |number| made_before(state, actor, number, &app),
    )
    .await
}

/// The bundle a receipt's key made before, as `actor` may see it; sent with another bundle or
/// applicant, the key is a form used again for someone else.
async fn made_before(
    state: &AppState,
    actor: &Actor,
    number: String,
    app: &BundleApplication,
) -> Result<String> {
    let row = bundles::load(&state.db, &number).await?;
    may_see(actor, row.hall.as_deref())?;
    let applicant = applicants::by_id(&state.db, row.applicant_id).await?;
    let same =
        row.bundle == app.bundle.trim() && applicant.is_some_and(|a| a.is_same_as(&app.applicant));
    if !same {
        return Err(service::receipt_key_reused(service::Channel::Window));
    }
    Ok(row.number)
}

/// [`receive`] once its actor may receive it.
async fn receive_bundle(
    state: &AppState,
    actor: &Actor,
    app: &BundleApplication,
) -> Result<String> {
    let env = Env::at(state, state.now(), actor.hall.as_deref()).await?;
    let (version, bundle) = items::current_bundle(&state.db, &app.bundle).await?;
    let members = member_items(state, &bundle).await?;
    let mut materials: Vec<String> = app
        .materials
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    materials.sort();
    materials.dedup();
    let mut p = Problems::new();
    let (applicant, warnings) = app.applicant.checked(env.today(), &mut p);
    check_application(&bundle, &members, &app.answers, &materials, &mut p);
    p.finish()?;
    let mut tx = state.db.begin().await?;
    definitions::record_bundle(&mut tx, &bundle, version, env.now).await?;
    let number = records::next_number(&mut tx, env.today()).await?;
    let applicant_id = applicants::upsert(&mut tx, &applicant, env.now).await?;
    bundles::insert(
        &mut tx,
        &NewBundleCase {
            number: &number,
            bundle: &bundle.code,
            bundle_version: version,
            applicant_id,
            hall: actor.hall.as_deref(),
            materials: &materials,
            answers: &app.answers,
            key: app.key.as_ref(),
        },
        env.now,
    )
    .await?;
    events::append(
        &mut tx,
        env.now,
        NewEvent {
            actor: &actor.event_name(),
            kind: "bundle_case_received",
            subject_type: "bundle_case",
            subject_id: &number,
            payload: json!({"bundle": bundle.code, "version": version,
                            "applicant": applicant.masked(), "materials": materials,
                            "warnings": warnings, "ticket": app.ticket,
                            "on_behalf_of": actor.on_behalf}),
        },
    )
    .await?;
    // The first members are received by the clerk at the window; their checks name the clerk.
    let progress = bundle_progress(&bundle, &[]);
    for m in progress
        .members
        .iter()
        .filter(|m| m.stage == MemberStage::Ready)
    {
        let (item_version, item) = items::current_item(&state.db, &m.item).await?;
        let process = items::process_for(&state.db, &item).await?;
        let receipt = Receipt {
            number: String::new(),
            materials: materials_for(&bundle, &item, &materials),
            answers: answers_for(&item, &app.answers),
            parent: Some(number.clone()),
            applicant: applicant.clone(),
        };
        service::receive_in(
            &mut tx,
            &env,
            actor,
            service::Channel::WindowRouted,
            item_version,
            item,
            process,
            receipt,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(number)
}

/// What each member still lacks, by item code: the outstanding materials of sub-cases waiting
/// for a supplement, and for members not started yet what the parent's materials do not cover
/// (so the one notice lists everything, R-ACCEPT-5D).
fn missing_by_item(
    bundle: &Bundle,
    members: &[ServiceItem],
    row: &BundleCaseRow,
    cases: &[&Case],
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let held = row.materials();
    let answers = row.answers();
    for item in members {
        let missing: Vec<String> = match cases.iter().find(|c| c.item == item.code) {
            Some(c) => c
                .open_notice()
                .filter(|_| c.status == CaseStatus::AwaitingSupplement)
                .map(|n| n.outstanding().iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            None => {
                let have = materials_for(bundle, item, &held);
                required_materials(item, &answers_for(item, &answers))
                    .into_iter()
                    .filter(|m| !have.contains(&m.code))
                    .map(|m| m.code.clone())
                    .collect()
            }
        };
        if !missing.is_empty() {
            out.insert(item.code.clone(), missing);
        }
    }
    out
}

/// The lines of the one-time notice: each missing material once, under the key the applicant
/// gives it by (a shared material stands for all it covers).
pub fn notice_lines(
    bundle: &Bundle,
    members: &[ServiceItem],
    missing: &BTreeMap<String, Vec<String>>,
) -> Vec<ChecklistEntry> {
    let all = checklist(bundle, members);
    let mut keys = Vec::new();
    for (item, codes) in missing {
        for c in codes {
            let k = key_of(bundle, item, c);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.iter()
        .filter_map(|k| all.iter().find(|e| &e.key == k).cloned())
        .collect()
}

/// Supplementary materials given to the parent, in the caller's transaction: they go to every
/// sub-case waiting for them (a sub-case they complete is accepted and goes to its
/// department) and are kept for the members that start later. Refused when no member waits
/// for any of them.
pub async fn supplement_in(
    tx: &mut Tx,
    state: &AppState,
    actor: &Actor,
    number: &str,
    given: Vec<String>,
) -> Result<BundleCaseRow> {
    let now = state.now();
    let given: Vec<String> = given
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    if given.is_empty() {
        return Err(Error::validation(vec![]).field("materials", "请选择收到的补正材料"));
    }
    let row = bundles::load_for_update(tx, number.trim()).await?;
    let bundle = bundle_of(state, &row).await?;
    let members = member_items(state, &bundle).await?;
    let mut cases = Vec::new();
    for n in records::children_in(tx, &row.number).await? {
        cases.push(records::load_for_update(tx, &n).await?.case);
    }
    let missing = missing_by_item(&bundle, &members, &row, &cases.iter().collect::<Vec<_>>());
    let wanted_later = members.iter().any(|item| {
        !cases.iter().any(|c| c.item == item.code)
            && missing.get(&item.code).is_some_and(|codes| {
                materials_for(&bundle, item, &given)
                    .iter()
                    .any(|c| codes.contains(c))
            })
    });
    let mut all = row.materials();
    all.extend(given.iter().cloned());
    all.sort();
    all.dedup();
    bundles::set_materials(tx, row.id, &all, now).await?;
    let mut delivered = wanted_later;
    for n in records::children_in(tx, &row.number).await? {
        let mut wanted_any = false;
        service::change_in(tx, state, now, &n, Some(actor), |case, ctx| {
            let wanted: Vec<String> = case
                .open_notice()
                .map(|notice| {
                    materials_for(&bundle, ctx.item, &given)
                        .into_iter()
                        .filter(|c| notice.outstanding().contains(&c.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            if wanted.is_empty() {
                return Ok(Vec::new());
            }
            wanted_any = true;
            service::supplement_then_route(case, wanted, actor, ctx)
        })
        .await?;
        delivered |= wanted_any;
    }
    if !delivered {
        return Err(
            Error::invalid("nothing_to_supplement", "没有子办件在等待这些材料")
                .field("materials", "所给材料不是任何子办件所缺的材料"),
        );
    }
    Ok(row)
}

/// [`supplement_in`] in a transaction of its own.
pub async fn supplement(
    state: &AppState,
    actor: &Actor,
    number: &str,
    given: Vec<String>,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    supplement_in(&mut tx, state, actor, number, given).await?;
    tx.commit().await?;
    Ok(())
}

/// How the whole bundle's results leave the hall: one pickup code or one parcel for all (the
/// body of `POST /api/v1/bundle-cases/{number}/issue`, and the issuance page's form).
#[derive(Deserialize)]
pub struct BundleDelivery {
    /// `pickup` | `mail`.
    pub method: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: String,
}

/// 统一出件: every sub-case whose decision is made and whose issuance step is open is claimed
/// and issued by `actor` the same way, in one transaction; returns how many.
pub async fn issue_all(
    state: &AppState,
    actor: &Actor,
    number: &str,
    how: BundleDelivery,
) -> Result<usize> {
    let delivery = match how.method.as_str() {
        "pickup" => Delivery::Pickup {
            code: super::api::pickup_code()?,
        },
        "mail" => Delivery::Mail {
            address: how.address,
            carrier: how.carrier,
            tracking_number: how.tracking_number,
        },
        _ => {
            return Err(Error::validation(vec![]).field(
                "method",
                "统一出件方式应为 pickup（窗口领取）或 mail（邮寄）；电子证照请在各子办件页面签发",
            ));
        }
    };
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let row = bundles::load_for_update(&mut tx, number.trim()).await?;
    let mut issued = 0;
    for n in records::children_in(&mut tx, &row.number).await? {
        let mut did = false;
        service::change_in(&mut tx, state, now, &n, Some(actor), |case, ctx| {
            if case.status != CaseStatus::Concluded {
                return Ok(Vec::new());
            }
            let Some(token) = case.tokens.iter().find(|t| {
                ctx.process
                    .node(&t.node)
                    .and_then(|n| n.task())
                    .is_some_and(|task| task.action == StepAction::Issue)
            }) else {
                return Ok(Vec::new());
            };
            let node = token.node.clone();
            let mut events = Vec::new();
            let mut c = case.clone();
            if token.claimed_by.is_none() {
                events = c.handle(&Command::Claim { node: node.clone() }, actor, ctx)?;
                for e in &events {
                    c.apply(e);
                }
            }
            events.extend(c.handle(
                &Command::Issue {
                    node,
                    delivery: delivery.clone(),
                },
                actor,
                ctx,
            )?);
            did = true;
            Ok(events)
        })
        .await?;
        issued += usize::from(did);
    }
    if issued == 0 {
        return Err(Error::conflict(
            "nothing_to_issue",
            "没有可出件的子办件：子办件作出决定后才能出件",
        ));
    }
    tx.commit().await?;
    Ok(issued)
}

fn worse(a: Option<Warning>, b: Option<Warning>) -> Option<Warning> {
    let rank = |w: Option<Warning>| match w {
        None => 0,
        Some(Warning::Green) => 1,
        Some(Warning::Yellow) => 2,
        Some(Warning::Red) => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The parent as `actor` may see it: hall staff see their own hall's bundles (as with cases).
pub async fn view_for(state: &AppState, actor: &Actor, number: &str) -> Result<BundleView> {
    let v = bundle_view(state, number).await?;
    may_see(actor, v.hall.as_deref())?;
    Ok(v)
}

/// Hall staff see their own hall's bundles only.
fn may_see(actor: &Actor, hall: Option<&str>) -> Result<()> {
    match hall {
        Some(hall) if actor.role.needs_hall() => actor.require_hall(hall, "查看"),
        _ => Ok(()),
    }
}

/// A view as the API's JSON (keys in order, as the API always gave them).
pub fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A 一件事 as anyone holding its number and the last four digits sees it (issue 10 item 9).
#[derive(Debug, Clone, Serialize)]
pub struct PublicBundleView {
    pub number: String,
    /// Always `true`: tells a bundle from a single case in the query's answer.
    pub bundle: bool,
    pub item_name: String,
    pub status: BundleStatus,
    pub status_label: &'static str,
    pub due_date: Option<String>,
    pub working_days_left: Option<i64>,
    pub members: Vec<PublicMember>,
    /// The names of the materials still missing.
    pub missing: Vec<String>,
}

/// A member of a 一件事 as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicMember {
    pub item_name: String,
    pub number: Option<String>,
    pub stage_label: &'static str,
    pub status_label: Option<&'static str>,
    pub due_date: Option<NaiveDate>,
}

/// What anyone holding a 一件事's number and the last four digits may see (issue 10 item 9):
/// its status, each member's status and due date, and the materials still missing; no
/// personal data.
pub async fn public_view(state: &AppState, number: &str) -> Result<PublicBundleView> {
    let v = bundle_view(state, number).await?;
    Ok(PublicBundleView {
        number: v.number,
        bundle: true,
        item_name: v.bundle_name,
        status: v.status,
        status_label: v.status_label,
        due_date: v.clock.due_date,
        working_days_left: v.clock.working_days_left,
        members: v
            .members
            .into_iter()
            .map(|m| PublicMember {
                item_name: m.item_name,
                number: m.number,
                stage_label: m.stage_label,
                status_label: m.status_label,
                due_date: m.due_date,
            })
            .collect(),
        missing: v
            .one_time_notice
            .map(|n| n.materials.into_iter().map(|l| l.name).collect())
            .unwrap_or_default(),
    })
}

impl PublicMember {
    pub fn status_text(&self) -> &'static str {
        self.status_label.unwrap_or_default()
    }

    pub fn due_text(&self) -> String {
        self.due_date
            .map(super::view::chinese_day)
            .unwrap_or_default()
    }
}

/// Where a 一件事 as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleStatus {
    Failed,
    AwaitingSupplement,
    Issued,
    Concluded,
    InProgress,
}

impl BundleStatus {
    pub fn label(self) -> &'static str {
        match self {
            BundleStatus::Failed => "未获准予",
            BundleStatus::AwaitingSupplement => "待补正",
            BundleStatus::Issued => "已出件",
            BundleStatus::Concluded => "已办结",
            BundleStatus::InProgress => "办理中",
        }
    }
}

/// A 一件事 (the parent of its members' cases) as the API and pages show it (issue 10, typed
/// views): `GET /api/v1/bundle-cases/{number}`.
#[derive(Debug, Clone, Serialize)]
pub struct BundleView {
    pub number: String,
    /// The bundle's code.
    pub bundle: String,
    pub bundle_name: String,
    pub hall: Option<String>,
    pub status: BundleStatus,
    pub status_label: &'static str,
    pub received_at: String,
    pub applicant: Option<Applicant>,
    pub warnings: Vec<String>,
    pub materials: Vec<String>,
    pub answers: BTreeMap<String, String>,
    pub members: Vec<MemberView>,
    pub holding_up: Vec<HoldingUp>,
    pub complete: bool,
    pub failed: bool,
    /// The numbers of the members denied.
    pub denied: Vec<String>,
    pub clock: BundleClock,
    pub one_time_notice: Option<BundleNotice>,
    pub issued_at: Option<String>,
}

/// A member of a 一件事 with its case's progress.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub item: String,
    pub item_name: String,
    pub number: Option<String>,
    pub stage: MemberStage,
    pub stage_label: &'static str,
    pub status: Option<CaseStatus>,
    pub status_label: Option<&'static str>,
    pub waiting_for: Vec<String>,
    pub waiting_for_names: Vec<String>,
    pub due_date: Option<NaiveDate>,
    pub warning: Option<Warning>,
    pub deemed_steps: Option<Vec<DeemedStep>>,
    pub decision: Option<Decision>,
    pub issuance: Option<Issuance>,
}

/// A member whose case holds the others up.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingUp {
    pub item: String,
    pub item_name: String,
    pub number: Option<String>,
}

/// One clock for the whole: the latest due date of the members still running, the worst light.
#[derive(Debug, Clone, Serialize)]
pub struct BundleClock {
    pub due_date: Option<String>,
    pub working_days_left: Option<i64>,
    pub warning: Option<Warning>,
}

/// The one-time notice of everything still missing: the codes by member item, and the lines.
#[derive(Debug, Clone, Serialize)]
pub struct BundleNotice {
    pub missing: BTreeMap<String, Vec<String>>,
    pub materials: Vec<ChecklistEntry>,
}

impl BundleStatus {
    /// The status as the API names it (`awaiting_supplement`), for tests and styles.
    pub fn code(self) -> &'static str {
        match self {
            BundleStatus::Failed => "failed",
            BundleStatus::AwaitingSupplement => "awaiting_supplement",
            BundleStatus::Issued => "issued",
            BundleStatus::Concluded => "concluded",
            BundleStatus::InProgress => "in_progress",
        }
    }
}

/// A light's class suffix (`green`), empty without one.
fn light_code(w: Option<Warning>) -> &'static str {
    w.map_or("", Warning::code)
}

/// The staff's words for a light (the applicant's pages use plainer ones).
fn light_label(w: Option<Warning>) -> &'static str {
    w.map_or("", Warning::staff_label)
}

impl BundleView {
    pub fn is_awaiting_supplement(&self) -> bool {
        self.status == BundleStatus::AwaitingSupplement
    }

    pub fn applicant_name(&self) -> &str {
        self.applicant.as_ref().map_or("", |a| a.name.as_str())
    }

    pub fn applicant_id_number(&self) -> &str {
        self.applicant.as_ref().map_or("", |a| a.id_number.as_str())
    }

    pub fn applicant_phone(&self) -> &str {
        self.applicant.as_ref().map_or("", |a| a.phone.as_str())
    }

    /// 收件 as the hall reads it: 2026年3月2日 09:05.
    pub fn received_text(&self) -> String {
        crate::pages::paper::chinese_minute_of(&self.received_at)
    }

    /// The whole's due date in Chinese form.
    pub fn due_text(&self) -> String {
        self.clock
            .due_date
            .as_deref()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .map(super::view::chinese_day)
            .unwrap_or_default()
    }

    pub fn days_left_text(&self) -> String {
        self.clock
            .working_days_left
            .map(|d| d.to_string())
            .unwrap_or_default()
    }

    pub fn warning_code(&self) -> &'static str {
        light_code(self.clock.warning)
    }

    pub fn warning_label(&self) -> &'static str {
        light_label(self.clock.warning)
    }

    /// The applicant's words for the whole's light.
    pub fn warning_words(&self) -> &'static str {
        self.clock.warning.map_or("", Warning::plain_words)
    }

    /// Whether the member's item holds the parent up.
    pub fn holds_up(&self, m: &MemberView) -> bool {
        self.holding_up.iter().any(|h| h.item == m.item)
    }

    /// The lines of the one-time notice (none when nothing is missing).
    pub fn notice_lines(&self) -> &[ChecklistEntry] {
        self.one_time_notice
            .as_ref()
            .map_or(&[], |n| n.materials.as_slice())
    }
}

impl MemberView {
    pub fn number_text(&self) -> &str {
        self.number.as_deref().unwrap_or_default()
    }

    /// The stage as the API names it (`waiting`), for tests and styles.
    pub fn stage_code(&self) -> String {
        serde_json::to_value(self.stage)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn status_code(&self) -> &'static str {
        self.status.map(CaseStatus::as_str).unwrap_or_default()
    }

    pub fn status_text(&self) -> &'static str {
        self.status_label.unwrap_or_default()
    }

    pub fn due_text(&self) -> String {
        self.due_date
            .map(super::view::chinese_day)
            .unwrap_or_default()
    }

    pub fn warning_code(&self) -> &'static str {
        light_code(self.warning)
    }

    pub fn warning_label(&self) -> &'static str {
        light_label(self.warning)
    }

    /// The applicant's words for the member's light.
    pub fn warning_words(&self) -> &'static str {
        self.warning.map_or("", Warning::plain_words)
    }
}

impl HoldingUp {
    pub fn number_text(&self) -> &str {
        self.number.as_deref().unwrap_or_default()
    }
}

/// The parent as JSON (see [`BundleView`]).
pub async fn view(state: &AppState, number: &str) -> Result<Value> {
    Ok(to_json(&bundle_view(state, number).await?))
}

/// The parent as the API and pages show it: members with their clocks, who holds it up, one
/// clock for the whole (the latest due date of the members still running, the worst light),
/// the one-time notice of everything still missing, and the parent's status.
pub async fn bundle_view(state: &AppState, number: &str) -> Result<BundleView> {
    let row = bundles::load(&state.db, number.trim()).await?;
    let bundle = bundle_of(state, &row).await?;
    let members_items = member_items(state, &bundle).await?;
    let env = Env::at(state, state.now(), row.hall.as_deref()).await?;
    let mut loaded = Vec::new();
    for n in records::children(&state.db, &row.number).await? {
        loaded.push(service::load(state, &n).await?);
    }
    let cases: Vec<&Case> = loaded.iter().map(|l| &l.case).collect();
    let progress = bundle_progress(&bundle, &cases);
    let number_of = |item: &str| {
        progress
            .members
            .iter()
            .find(|m| m.item == item)
            .and_then(|m| m.number.clone())
    };
    let name_of = |item: &str| {
        members_items
            .iter()
            .find(|i| i.code == item)
            .map_or_else(|| item.to_string(), |i| i.name.clone())
    };
    let missing = missing_by_item(&bundle, &members_items, &row, &cases);
    let mut clock_due: Option<String> = None;
    let mut clock_left: Option<i64> = None;
    let mut clock_warning: Option<Warning> = None;
    let members: Vec<MemberView> = progress
        .members
        .iter()
        .map(|m| {
            let l = loaded
                .iter()
                .find(|l| Some(&l.case.number) == m.number.as_ref());
            let reading = l.and_then(|l| {
                env.with_ctx(&l.item, &l.process, |ctx| {
                    l.case.reading(ctx.calendar, env.today(), ctx.settings)
                })
            });
            let running = l.is_some_and(|l| l.case.decision.is_none() && !l.case.status.is_final());
            if let (true, Some(r)) = (running, &reading) {
                let d = r.due_date.to_string();
                if clock_due.as_ref().is_none_or(|x| &d > x) {
                    clock_due = Some(d);
                }
                clock_left =
                    Some(clock_left.map_or(r.working_days_left, |x| x.min(r.working_days_left)));
                clock_warning = worse(clock_warning, Some(r.warning));
            }
            MemberView {
                item: m.item.clone(),
                item_name: name_of(&m.item),
                number: m.number.clone(),
                stage: m.stage,
                stage_label: m.stage.label(),
                status: m.status,
                status_label: m.status.map(|s| s.label()),
                waiting_for: m.waiting_for.clone(),
                waiting_for_names: m.waiting_for.iter().map(|i| name_of(i)).collect(),
                due_date: reading.as_ref().map(|r| r.due_date),
                warning: reading.as_ref().map(|r| r.warning),
                deemed_steps: l.map(|l| l.case.deemed_steps.clone()),
                decision: l.and_then(|l| l.case.decision.clone()),
                issuance: l.and_then(|l| l.case.issuance.clone()),
            }
        })
        .collect();
    let holding_up: Vec<HoldingUp> = progress
        .holding_up
        .iter()
        .map(|i| HoldingUp {
            item: i.clone(),
            item_name: name_of(i),
            number: number_of(i),
        })
        .collect();
    let issued_all = !loaded.is_empty()
        && loaded.len() == bundle.items.len()
        && loaded.iter().all(|l| l.case.issuance.is_some());
    let approved_all = progress.complete;
    let status = if progress.failed {
        BundleStatus::Failed
    } else if !missing.is_empty() {
        BundleStatus::AwaitingSupplement
    } else if issued_all {
        BundleStatus::Issued
    } else if approved_all {
        BundleStatus::Concluded
    } else {
        BundleStatus::InProgress
    };
    let first = loaded.first();
    let lines = notice_lines(&bundle, &members_items, &missing);
    let denied: Vec<String> = loaded
        .iter()
        .filter(|l| {
            l.case
                .decision
                .as_ref()
                .is_some_and(|d| d.outcome == Outcome::Denied)
        })
        .map(|l| l.case.number.clone())
        .collect();
    Ok(BundleView {
        number: row.number.clone(),
        bundle: bundle.code.clone(),
        bundle_name: bundle.name.clone(),
        hall: row.hall.clone(),
        status,
        status_label: status.label(),
        received_at: hall_time(yichuang_store::from_micros(row.created_at)),
        applicant: first.map(|l| l.case.applicant.masked()),
        warnings: first.map(|l| l.case.warnings.clone()).unwrap_or_default(),
        materials: row.materials(),
        answers: row.answers(),
        members,
        holding_up,
        complete: progress.complete,
        failed: progress.failed,
        denied,
        clock: BundleClock {
            due_date: clock_due,
            working_days_left: clock_left,
            warning: clock_warning,
        },
        one_time_notice: if missing.is_empty() {
            None
        } else {
            Some(BundleNotice {
                missing,
                materials: lines,
            })
        },
        issued_at: loaded
            .iter()
            .filter_map(|l| l.case.issuance.as_ref().map(|i| hall_time(utc(i.at))))
            .max(),
    })
}
