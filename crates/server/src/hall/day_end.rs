//! End of the day: a durable timer per hall closes every open ticket with the hall's reason
//! (the ticket state machine's `close_at_day_end`) and schedules the next day's.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yichuang_domain::Result;
use yichuang_domain::queue::policy::rank_instant;
use yichuang_domain::queue::ticket::close_open_tickets;
use yichuang_store::hall as store;
use yichuang_store::{Tx, timers};

use super::{HallSettings, hall_instant, record, service_date};

/// The timer kind; its subject is the hall code.
pub const KIND: &str = "hall_day_end";

/// The next day-end instant strictly after `now`.
pub fn next_day_end(settings: &HallSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = service_date(now);
    let at = hall_instant(today, settings.day_end);
    if at > now {
        at
    } else {
        hall_instant(today + Duration::days(1), settings.day_end)
    }
}

pub async fn schedule_next(
    tx: &mut Tx,
    hall: &str,
    settings: &HallSettings,
    now: DateTime<Utc>,
) -> Result<()> {
    let due = next_day_end(settings, now);
    timers::schedule(tx, KIND, hall, due, json!({}), now).await?;
    Ok(())
}

/// Closes the hall's tickets still open from the day that ended at `day_end` (and earlier days),
/// and schedules the next day end (the timer worker calls this inside the transaction that marks
/// the timer fired). A timer that fires late, after a restart or a clock jump, leaves the new
/// day's queue alone. Returns how many were closed.
pub async fn close_day(
    tx: &mut Tx,
    hall_code: &str,
    day_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let hall = store::hall_in_tx(tx, hall_code).await?;
    let settings = HallSettings::of(&hall)?;
    // A day end at midnight belongs to the day before it.
    let closing = service_date(day_end - Duration::seconds(1));
    let rows = store::open_tickets(tx, hall.id, Some(closing + Duration::days(1))).await?;
    let tickets = rows
        .iter()
        .map(|r| r.ticket())
        .collect::<Result<Vec<_>>>()?;
    let closed = close_open_tickets(&tickets, now, &settings.day_end_reason)?;
    for (tr, row) in closed.iter().zip(&rows) {
        let t = &tr.ticket;
        store::save_ticket(
            tx,
            t,
            rank_instant(t.categories, t.waiting_since, &settings.policy),
            tr.closed.as_ref(),
            tr.opened.as_ref(),
        )
        .await?;
        record(
            tx,
            now,
            &hall.code,
            "system:day_end",
            "ticket_closed_at_day_end",
            ("ticket", t.id),
            json!({
                "ticket": {"id": t.id, "number": row.number, "queue": row.queue_code},
                "before": {"status": row.status},
                "after": {"status": t.status, "close_reason": t.close_reason},
            }),
        )
        .await?;
    }
    store::fold_waiting(tx, hall.id).await?;
    let queues = store::queues_in_tx(tx, hall.id).await?;
    record(
        tx,
        now,
        &hall.code,
        "system:day_end",
        "hall_day_closed",
        ("hall", hall.id),
        json!({
            "closed": closed.len(),
            "queues": queues.iter().map(|q| json!({"code": q.code, "waiting": 0})).collect::<Vec<_>>(),
        }),
    )
    .await?;
    schedule_next(tx, &hall.code, &settings, now).await?;
    Ok(closed.len())
}
