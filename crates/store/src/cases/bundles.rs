//! Bundle cases (一件事): the parent of several sub-cases, with the materials given once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use yichuang_domain::case::ReceiptKey;
use yichuang_domain::{Error, Result};

use crate::db::{Backend, db_err, micros};
use crate::{Db, Tx, db_run};

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct BundleCaseRow {
    pub id: i64,
    pub number: String,
    pub bundle: String,
    pub bundle_version: i64,
    pub applicant_id: i64,
    pub hall: Option<String>,
    pub materials: String,
    pub answers: String,
    pub created_at: i64,
}

impl BundleCaseRow {
    pub fn materials(&self) -> Vec<String> {
        serde_json::from_str(&self.materials).unwrap_or_default()
    }

    pub fn answers(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.answers).unwrap_or_default()
    }
}

pub struct NewBundleCase<'a> {
    pub number: &'a str,
    pub bundle: &'a str,
    pub bundle_version: i64,
    pub applicant_id: i64,
    pub hall: Option<&'a str>,
    pub materials: &'a [String],
    pub answers: &'a BTreeMap<String, String>,
    /// The receipt's key, if it came with one: a second parent with it fails as `duplicate`.
    pub key: Option<&'a ReceiptKey>,
}

pub async fn insert(tx: &mut Tx, b: &NewBundleCase<'_>, now: DateTime<Utc>) -> Result<i64> {
    let materials = serde_json::to_string(b.materials).map_err(Error::internal)?;
    let answers = serde_json::to_string(b.answers).map_err(Error::internal)?;
    tx.returning(
        "INSERT INTO bundle_cases (number, bundle, bundle_version, applicant_id, hall, materials, answers, created_at, updated_at, receipt_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id AS value",
        vec![
            b.number.into(),
            b.bundle.into(),
            b.bundle_version.into(),
            b.applicant_id.into(),
            b.hall.into(),
            materials.into(),
            answers.into(),
            micros(now).into(),
            b.key.map(ReceiptKey::as_str).into(),
        ],
    )
    .await
}

pub async fn set_materials(
    tx: &mut Tx,
    id: i64,
    materials: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let materials = serde_json::to_string(materials).map_err(Error::internal)?;
    tx.write(
        "UPDATE bundle_cases SET materials = $1, updated_at = $2 WHERE id = $3",
        vec![materials.into(), micros(now).into(), id.into()],
    )
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, number, bundle, bundle_version, applicant_id, hall, materials, answers, created_at FROM bundle_cases WHERE number = $1";

fn not_found(number: &str) -> Error {
    Error::not_found(
        "bundle_case_not_found",
        format!("一件事办件 {number} 不存在"),
    )
}

pub async fn load(db: &Db, number: &str) -> Result<BundleCaseRow> {
    let sql = format!("SELECT {COLUMNS}");
    let row: Option<BundleCaseRow> =
        db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(number)
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
    row.ok_or_else(|| not_found(number))
}

/// The parent for changing (locked on PostgreSQL until the transaction ends).
pub async fn load_for_update(tx: &mut Tx, number: &str) -> Result<BundleCaseRow> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {COLUMNS}{lock}");
    let row: Option<BundleCaseRow> = tx.read_one(&sql, vec![number.into()]).await?;
    row.ok_or_else(|| not_found(number))
}

/// The bundle cases of applicants reachable at `phone`, newest first: (number, bundle code).
pub async fn of_phone(db: &Db, phone: &str) -> Result<Vec<(String, String)>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT b.number, b.bundle FROM bundle_cases b \
         JOIN applicants a ON a.id = b.applicant_id WHERE a.phone = $1 ORDER BY b.id DESC"
    )
    .bind(phone)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Whether `number` is a bundle case (bundle and case numbers share one sequence).
pub async fn exists(db: &Db, number: &str) -> Result<bool> {
    let n: i64 = db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM bundle_cases WHERE number = $1"
    )
    .bind(number)
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    Ok(n > 0)
}
