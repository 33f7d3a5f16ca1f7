//! Whether a case's stored parts agree with its history. A command writes a case from the
//! state kept with its row or in this process (issue 9), not from a replay of its events, and
//! writes only what moved: the row's summary, the open steps' rows, the pending timers. Each
//! of those must still be what folding the history afresh gives, whatever was interrupted on
//! the way (a client gone mid-request, a write run again); this says where one is not.

use yichuang_domain::Result;
use yichuang_domain::case::Case;
use yichuang_domain::case::effects::Effects;
use yichuang_store::cases::records::{self, StepRow};

use super::{items, service};
use crate::state::AppState;

/// Where the parts of case `number` disagree with its history folded afresh, one line each;
/// empty when they all agree.
pub async fn disagreements(state: &AppState, number: &str) -> Result<Vec<String>> {
    let whole = records::whole(&state.db, number).await?;
    let stored = &whole.stored;
    let row = &stored.row;
    let mut found = Vec::new();
    let mut differ = |what: &str, a: String, b: String| {
        if a != b {
            found.push(format!("{number}: {what}: {a} ≠ {b}"));
        }
    };

    let mut folded = Case::replay(&whole.events)?;
    // The history keeps the applicant's numbers masked (R-PII); the row's read puts them back.
    folded.applicant.id_number = stored.case.applicant.id_number.clone();
    folded.applicant.phone = stored.case.applicant.phone.clone();
    differ(
        "the row's event count against the history's",
        row.events.to_string(),
        whole.events.len().to_string(),
    );
    differ(
        "the row's kept state against the history folded",
        format!("{:?}", stored.case),
        format!("{folded:?}"),
    );

    let item = items::item_of(&state.db, &row.item, row.item_version).await?;
    let process = items::process_of(&state.db, &folded).await?;
    let env = service::Env::at(state, state.now(), row.hall.as_deref()).await?;
    let effects = env.with_ctx(&item, &process, |ctx| Effects::of(None, &whole.events, ctx))?;
    differ(
        "the row's listed columns against the history's",
        format!("{} {:?} {:?}", row.status, row.accepted_on, row.due_date),
        format!(
            "{} {:?} {:?}",
            effects.after.status.as_str(),
            effects.after.accepted_on.map(|d| d.to_string()),
            effects.due_date.map(|d| d.to_string()),
        ),
    );
    let mut open = service::step_rows(&effects.work);
    open.sort_by(|a, b| a.node.cmp(&b.node));
    differ(
        "the open steps' rows against the history's",
        steps(&whole.steps),
        steps(&open),
    );
    if let Some(noted) = &stored.steps {
        let mut noted = noted.clone();
        noted.sort_by(|a, b| a.node.cmp(&b.node));
        differ(
            "the open steps the row notes against the history's",
            steps(&noted),
            steps(&open),
        );
    }
    if let Some(plan) = &stored.timer_plan {
        differ(
            "the timer plan the row notes against the pending timers",
            planned(plan),
            whole
                .timers
                .iter()
                .map(|t| format!("{}@{}:{}", t.kind, t.due_at, t.payload))
                .collect::<Vec<_>>()
                .join(";"),
        );
    }

    // What this process kept may be older than the row (its guard then sends the command back
    // to the row), never newer, and where it notes the same event count and timer plan as the
    // row the guard lets it through: then it must be the row's, whole.
    if let Some(kept) = &whole.kept {
        if kept.row.events > row.events {
            differ(
                "the state kept in this process is newer than the row",
                kept.row.events.to_string(),
                row.events.to_string(),
            );
        } else if kept.row.events == row.events && kept.timer_plan == stored.timer_plan {
            differ(
                "the state kept in this process against the row's",
                format!("{:?} {:?} {:?}", kept.row, kept.case, kept.steps),
                format!("{:?} {:?} {:?}", row, stored.case, stored.steps),
            );
        }
    }
    if let Some(history) = &whole.kept_history {
        differ(
            "the history kept in this process against the stored one",
            format!("{history:?}"),
            format!("{:?}", whole.events),
        );
    }
    Ok(found)
}

fn steps(rows: &[StepRow]) -> String {
    format!("{rows:?}")
}

/// A timer plan's entries in the pending rows' order (by kind).
fn planned(plan: &str) -> String {
    let mut entries: Vec<&str> = plan.split(';').filter(|e| !e.is_empty()).collect();
    entries.sort_by_key(|e| e.split_once('@').map(|(kind, _)| kind));
    entries.join(";")
}
