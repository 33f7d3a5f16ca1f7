//! Applicants (申请人): one row per person or enterprise, keyed by its identity number.

use chrono::{DateTime, Utc};
use yichuang_domain::Result;
use yichuang_domain::case::{Applicant, ApplicantKind};

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run};

pub fn kind_name(kind: ApplicantKind) -> &'static str {
    match kind {
        ApplicantKind::Person => "person",
        ApplicantKind::Enterprise => "enterprise",
    }
}

/// The applicant's id, creating the row or updating its name and contact phone (the latest
/// given is the one notices go to).
pub async fn upsert(tx: &mut Tx, a: &Applicant, now: DateTime<Utc>) -> Result<i64> {
    let masked = a.masked();
    tx.returning(
        "INSERT INTO applicants (kind, id_number, name, phone, id_masked, phone_masked, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (kind, id_number) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
         phone_masked = excluded.phone_masked, updated_at = excluded.updated_at RETURNING id AS value",
        vec![
            kind_name(a.kind).into(),
            a.id_number.as_str().into(),
            a.name.as_str().into(),
            a.phone.as_str().into(),
            masked.id_number.into(),
            masked.phone.into(),
            micros(now).into(),
        ],
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApplicantRow {
    pub id_number: String,
    pub phone: String,
}

/// The id of the applicant with this identity number, if they applied before.
pub async fn find(db: &Db, kind: ApplicantKind, id_number: &str) -> Result<Option<i64>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT id FROM applicants WHERE kind = $1 AND id_number = $2"
    )
    .bind(kind_name(kind))
    .bind(id_number)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

#[derive(sqlx::FromRow)]
struct Identity {
    kind: String,
    id_number: String,
    name: String,
    phone: String,
}

/// The applicant `id` as last given.
pub async fn by_id(db: &Db, id: i64) -> Result<Option<Applicant>> {
    let row: Option<Identity> = db_run!(db, |c| sqlx::query_as(
        "SELECT kind, id_number, name, phone FROM applicants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err))?;
    Ok(row.map(|r| Applicant {
        kind: if r.kind == kind_name(ApplicantKind::Enterprise) {
            ApplicantKind::Enterprise
        } else {
            ApplicantKind::Person
        },
        id_number: r.id_number,
        name: r.name,
        phone: r.phone,
    }))
}

/// The identity number and phone of the applicant `id`: what a query's last four digits are
/// checked against.
pub async fn contact(db: &Db, id: i64) -> Result<Option<(String, String)>> {
    db_run!(db, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT id_number, phone FROM applicants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}
