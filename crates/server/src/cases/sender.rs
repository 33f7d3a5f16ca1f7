//! Sending the outbox: a log sender by default (halls on an intranet with no SMS gateway), or
//! an HTTP webhook to an SMS gateway when the setting `notify.webhook_url` names one. The
//! store's claim loop guarantees a message is marked sent in the transaction that claimed it.

use std::time::Duration;

use yichuang_domain::pii::mask_phone;
use yichuang_domain::{Error, Result};
use yichuang_store::cases::outbox::{self, Message, Sender};

use crate::state::AppState;

/// Writes each message to the log, the phone masked (R-PII).
pub struct LogSender;

impl Sender for LogSender {
    async fn send(&self, m: &Message) -> Result<()> {
        // The body carries what applicants typed (names): escaped, so it cannot forge a line.
        let body = crate::logging::escape(&m.body);
        tracing::info!(kind = %m.kind, case = %m.subject, to = %mask_phone(&m.recipient), body = %body, "notification");
        Ok(())
    }
}

/// POSTs `{"id","kind","case","phone","text"}` to the gateway; any non-2xx is a failure and
/// the message is retried later.
pub struct WebhookSender {
    pub url: String,
    pub client: reqwest::Client,
}

impl WebhookSender {
    pub fn new(url: String) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(Error::internal)?;
        Ok(WebhookSender { url, client })
    }
}

impl Sender for WebhookSender {
    async fn send(&self, m: &Message) -> Result<()> {
        let r = self
            .client
            .post(&self.url)
            .json(
                &serde_json::json!({"id": m.id, "kind": m.kind, "case": m.subject,
                                      "phone": m.recipient, "text": m.body}),
            )
            .send()
            .await
            .map_err(Error::internal)?;
        if !r.status().is_success() {
            return Err(Error::internal(format!("webhook answered {}", r.status())));
        }
        Ok(())
    }
}

/// Sends what is due with the configured sender; returns how many were sent.
pub async fn send_due(state: &AppState) -> Result<usize> {
    let now = state.now();
    let url = yichuang_store::settings::get(&state.db, "notify.webhook_url")
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|u| !u.trim().is_empty());
    let worker = &state.config.instance;
    match url {
        Some(url) => {
            let sender = WebhookSender::new(url)?;
            outbox::send_due(&state.db, now, worker, &sender, 50).await
        }
        None => outbox::send_due(&state.db, now, worker, &LogSender, 50).await,
    }
}
