//! 一件事一次办: one application, one parent case and a sub-case per member item. Members
//! without prerequisites are received at once (parallel, 并联); the others when every
//! prerequisite is approved (serial, 串联). Materials are given once, to the parent: shared
//! materials stand for the member materials they cover, and a later member receives what the
//! parent holds. The parent shows which sub-case holds it up (`bundle_progress`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use yichuang_domain::case::bundle::{MemberStage, bundle_progress};
use yichuang_domain::case::{Applicant, Case, CaseStatus, Command, Receipt};
use yichuang_domain::catalogue::{Bundle, ServiceItem};
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::Tx;
use yichuang_store::cases::bundles::{self, BundleCaseRow, NewBundleCase};
use yichuang_store::cases::{applicants, definitions, records};
use yichuang_store::events::{self, NewEvent};

use super::items;
use super::service::{self, Env, status_name};

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

/// The clerk that receives later members on the bundle's behalf (the parent's receipt
/// covered them).
fn bundle_clerk(hall: Option<&str>) -> Actor {
    Actor {
        id: 0,
        username: "bundle".into(),
        display_name: "一件事联办".into(),
        role: Role::Clerk,
        department: None,
        hall: hall.map(str::to_string),
    }
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
        cases.push(Case::replay(
            &records::load_for_update(tx, &n).await?.events,
        )?);
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
            answers: row.answers(),
            parent: Some(row.number.clone()),
            applicant,
        };
        service::receive_in(
            tx,
            env,
            &actor,
            service::Channel::Window,
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
}

/// Receives a bundle application: the parent case and the sub-cases that may start now, in
/// one transaction (bad input leaves nothing behind).
pub async fn receive(state: &AppState, actor: &Actor, app: BundleApplication) -> Result<String> {
    actor.require_role(&[Role::Clerk, Role::HallManager, Role::Admin], "收件")?;
    let _turn = service::write_turn(state).await;
    let env = Env::at(state, state.now(), actor.hall.as_deref()).await?;
    let (version, bundle) = items::current_bundle(&state.db, &app.bundle).await?;
    let mut p = Problems::new();
    let (applicant, _) = app.applicant.checked(env.today(), &mut p);
    p.finish()?;
    let mut tx = state.db.begin().await?;
    definitions::record_bundle(&mut tx, &bundle, version, env.now).await?;
    let number = records::next_number(&mut tx, env.today()).await?;
    let applicant_id = applicants::upsert(&mut tx, &applicant, env.now).await?;
    let mut materials = app.materials.clone();
    materials.sort();
    materials.dedup();
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
                            "applicant": applicant.masked(), "materials": materials}),
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
            answers: app.answers.clone(),
            parent: Some(number.clone()),
            applicant: applicant.clone(),
        };
        service::receive_in(
            &mut tx,
            &env,
            actor,
            service::Channel::Window,
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

/// Supplementary materials given to the parent go to every sub-case waiting for them, and
/// are kept for the members that start later.
pub async fn supplement(
    state: &AppState,
    actor: &Actor,
    number: &str,
    given: Vec<String>,
) -> Result<()> {
    let _turn = service::write_turn(state).await;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let row = bundles::load_for_update(&mut tx, number.trim()).await?;
    let bundle = bundle_of(state, &row).await?;
    let mut all = row.materials();
    all.extend(
        given
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty()),
    );
    all.sort();
    all.dedup();
    bundles::set_materials(&mut tx, row.id, &all, now).await?;
    let mut delivered = false;
    for n in records::children_in(&mut tx, &row.number).await? {
        let mut wanted_any = false;
        service::change_in(&mut tx, state, now, &n, Some(actor), |case, ctx| {
            let wanted: Vec<String> = case
                .open_notice()
                .map(|notice| {
                    let codes = materials_for(&bundle, ctx.item, &given);
                    codes
                        .into_iter()
                        .filter(|c| notice.outstanding().contains(&c.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            if wanted.is_empty() {
                return Ok(Vec::new());
            }
            wanted_any = true;
            case.handle(&Command::Supplement { materials: wanted }, actor, ctx)
        })
        .await?;
        delivered |= wanted_any;
    }
    if !delivered {
        return Err(
            Error::invalid("nothing_to_supplement", "没有子办件在等待这些材料")
                .field("materials", "所给材料不是任何待补正子办件所缺的材料"),
        );
    }
    tx.commit().await?;
    Ok(())
}

/// The parent as the API shows it: members, who holds it up, what is still missing.
pub async fn view(state: &AppState, number: &str) -> Result<Value> {
    let row = bundles::load(&state.db, number.trim()).await?;
    let bundle = bundle_of(state, &row).await?;
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
    let missing: BTreeMap<String, Vec<String>> = loaded
        .iter()
        .filter(|l| l.case.status == CaseStatus::AwaitingSupplement)
        .filter_map(|l| {
            l.case.open_notice().map(|n| {
                (
                    l.case.item.clone(),
                    n.outstanding().iter().map(|s| s.to_string()).collect(),
                )
            })
        })
        .collect();
    let members: Vec<Value> = progress
        .members
        .iter()
        .map(|m| {
            let l = loaded.iter().find(|l| Some(&l.case.number) == m.number.as_ref());
            json!({"item": m.item, "number": m.number, "stage": m.stage, "stage_label": m.stage.label(),
                   "status": m.status.map(status_name), "waiting_for": m.waiting_for,
                   "due_date": l.and_then(|l| env.with_ctx(&l.item, &l.process, |ctx| l.case.reading(ctx.calendar, env.today(), ctx.settings)).map(|r| r.due_date))})
        })
        .collect();
    let holding_up: Vec<Value> = progress
        .holding_up
        .iter()
        .map(|i| json!({"item": i, "number": number_of(i)}))
        .collect();
    Ok(json!({
        "number": row.number,
        "bundle": bundle.code,
        "bundle_name": bundle.name,
        "materials": row.materials(),
        "members": members,
        "holding_up": holding_up,
        "complete": progress.complete,
        "failed": progress.failed,
        "one_time_notice": if missing.is_empty() { Value::Null } else { json!({"missing": missing}) },
    }))
}
