//! Background work: the timer worker. Every instance runs it; the database decides who fires
//! what (see `yichuang_store::timers`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use yichuang_domain::Result;
use yichuang_store::Tx;
use yichuang_store::timers::{Timer, TimerHandler};

use crate::state::AppState;

/// Dispatches a due timer to the area that owns its kind.
pub struct Dispatch {
    pub state: AppState,
}

impl TimerHandler for Dispatch {
    async fn handle(&self, tx: &mut Tx, timer: &Timer, now: DateTime<Utc>) -> Result<()> {
        match timer.kind.as_str() {
            // Areas register their kinds here as they are built.
            crate::cases::DEADLINE_TIMER => {
                crate::cases::fire_deadline(&self.state, tx, timer, now).await
            }
            crate::cases::WARNING_TIMER => {
                crate::cases::fire_warning(&self.state, tx, timer, now).await
            }
            crate::ratings::INVITE_TIMER => {
                crate::ratings::fire_invite(&self.state, tx, &timer.subject, now).await
            }
            crate::ratings::DEFAULT_TIMER => {
                crate::ratings::fire_default(tx, &timer.subject, now).await
            }
            crate::work_orders::URGE_TIMER | crate::work_orders::OVERSEE_TIMER => {
                crate::work_orders::fire(&self.state, tx, &timer.kind, &timer.subject, now).await
            }
            crate::work_orders::REVISIT_TIMER => {
                crate::work_orders::ledger::fire_revisit(tx, &timer.subject, now).await
            }
            crate::hall::appointments::NO_SHOW_TIMER => {
                crate::hall::appointments::fire_no_show(tx, &timer.subject, now).await
            }
            crate::supervision::SWEEP_TIMER => {
                crate::supervision::fire_sweep(&self.state, tx, now).await
            }
            crate::lockers::EXPIRY_TIMER => {
                crate::lockers::fire_expiry(&self.state, tx, &timer.subject, now).await?;
                self.state.hall_feed.wake();
                Ok(())
            }
            crate::hall::day_end::KIND => {
                crate::hall::day_end::close_day(tx, &timer.subject, timer.due(), now).await?;
                self.state.hall_feed.wake();
                Ok(())
            }
            other => {
                // An unknown kind is recorded and dropped rather than retried for ever.
                tracing::warn!(kind = other, id = timer.id, "timer of unknown kind");
                yichuang_store::events::append(
                    tx,
                    now,
                    yichuang_store::events::NewEvent {
                        actor: "system:timer",
                        kind: "timer_unknown_kind",
                        subject_type: "timer",
                        subject_id: &timer.id.to_string(),
                        payload: serde_json::json!({"kind": other, "subject": timer.subject}),
                    },
                )
                .await?;
                Ok(())
            }
        }
    }
}

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let interval = Duration::from_millis(state.config.worker_interval_ms.max(50));
        let dispatch = Dispatch {
            state: state.clone(),
        };
        loop {
            let now = state.now();
            match yichuang_store::timers::fire_due(
                &state.db,
                now,
                &state.config.instance,
                &dispatch,
                100,
            )
            .await
            {
                Ok(0) => {
                    if let Err(e) = crate::cases::sender::send_due(&state).await {
                        tracing::error!(error = %e, detail = ?e.detail, "notification sender");
                    }
                    tokio::time::sleep(interval).await
                }
                Ok(_) => {} // more may be due: look again at once
                Err(e) => {
                    tracing::error!(error = %e, detail = ?e.detail, "timer worker");
                    tokio::time::sleep(interval).await;
                }
            }
        }
    })
}
