//! What the applicant is told, and when: one message per event that concerns them, in
//! Chinese, written to the outbox in the transaction of the change (see `service::persist`).

use yichuang_domain::case::events::{Change, Delivery, Outcome};
use yichuang_domain::case::{Case, CaseEvent, WINDOW_NODE};
use yichuang_domain::catalogue::ServiceItem;

/// One message for the outbox: (kind, text).
pub type Message = (&'static str, String);

fn material_names(item: &ServiceItem, codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| {
            item.materials
                .iter()
                .find(|m| &m.code == c)
                .map_or_else(|| c.clone(), |m| m.name.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// The messages `events` cause; `after` is the case once they are applied.
pub fn messages(
    events: &[CaseEvent],
    after: &Case,
    item: &ServiceItem,
    due_date: Option<chrono::NaiveDate>,
) -> Vec<Message> {
    let head = format!(
        "【一窗】您申请的“{}”（办件编号 {}）",
        item.name, after.number
    );
    events
        .iter()
        .filter_map(|e| match &e.change {
            Change::OneTimeNoticeGiven { items, note } => Some((
                "one_time_notice",
                format!(
                    "{head}材料不齐全。一次性告知需补正：{}{}。补齐后即予受理。",
                    material_names(item, items),
                    if note.is_empty() { String::new() } else { format!("（{note}）") }
                ),
            )),
            Change::SupplementRequested { items, note, .. } => Some((
                "supplement_requested",
                format!(
                    "{head}办理中需要补正：{}{}。补正期间暂停计时。",
                    material_names(item, items),
                    if note.is_empty() { String::new() } else { format!("（{note}）") }
                ),
            )),
            Change::Accepted { deemed, .. } => Some((
                "accepted",
                format!(
                    "{head}已{}受理，承诺 {} 个工作日内办结{}。",
                    if *deemed { "依法视为" } else { "" },
                    after.committed_limit_days,
                    due_date.map_or_else(String::new, |d| format!("，办结期限 {d}"))
                ),
            )),
            Change::Refused { reasons } => Some((
                "refused",
                format!("{head}不予受理，理由：{}。", reasons.join("；")),
            )),
            Change::Extended { extension } => Some((
                "extended",
                format!(
                    "{head}经批准延长 {} 个工作日，理由：{}。",
                    extension.days, extension.reason
                ),
            )),
            Change::Decided {
                outcome,
                document_number,
                ..
            } => Some((
                "decided",
                match outcome {
                    Outcome::Approved => format!(
                        "{head}已办结，准予许可（文书号 {document_number}）。结果可到出件窗口领取，或选择邮寄、电子证照。"
                    ),
                    Outcome::Denied => format!(
                        "{head}已办结，不予许可（文书号 {document_number}），理由见决定书。"
                    ),
                },
            )),
            Change::Issued { node, delivery } if node == WINDOW_NODE => Some((
                "picked_up",
                format!("{head}已在窗口当场办结，结果已当面交付（{}）。", delivery.label()),
            )),
            Change::Issued { delivery, .. } => match delivery {
                Delivery::Pickup { code } => Some((
                    "picked_up",
                    format!("{head}结果已凭取件码 {code} 在出件窗口领取。"),
                )),
                Delivery::Mail {
                    carrier,
                    tracking_number,
                    ..
                } => Some((
                    "shipped",
                    format!("{head}结果已寄出：{carrier}，运单号 {tracking_number}。"),
                )),
                Delivery::Electronic { certificate } => Some((
                    "electronic_issued",
                    format!("{head}电子证照 {certificate} 已签发，可在办件页面下载。"),
                )),
                // The locker sends its own messages (the code at the deposit, see `lockers`).
                Delivery::Locker { .. } => None,
            },
            _ => None,
        })
        .collect()
}
