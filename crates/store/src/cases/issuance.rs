//! Certificates (证照) of approved cases and how each result reached the applicant.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::Result;
use yichuang_domain::case::Delivery;

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Certificate {
    pub number: String,
    pub case_number: String,
    pub item: String,
    pub applicant_id: i64,
    pub issued_on: String,
    pub valid_until: Option<String>,
}

pub struct NewCertificate<'a> {
    pub case_number: &'a str,
    pub item: &'a str,
    pub applicant_id: i64,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// The certificate number of a case: the case number with a `Z` prefix, readable and unique
/// with it.
pub fn certificate_number(case_number: &str) -> String {
    format!("Z{case_number}")
}

pub async fn record_certificate(
    tx: &mut Tx,
    c_: &NewCertificate<'_>,
    now: DateTime<Utc>,
) -> Result<String> {
    let number = certificate_number(c_.case_number);
    tx.write(
        "INSERT INTO certificates (number, case_number, item, applicant_id, issued_on, valid_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            number.as_str().into(),
            c_.case_number.into(),
            c_.item.into(),
            c_.applicant_id.into(),
            c_.issued_on.to_string().into(),
            c_.valid_until.map(|d| d.to_string()).into(),
            micros(now).into(),
        ],
    )
    .await?;
    Ok(number)
}

/// Department names as last read, kept against the change counter, which every write of a
/// department moves in its transaction (`catalogue::write::create_department`, and an import
/// once).
static DEPARTMENT_NAMES: crate::kept::Kept<String, Option<String>> = crate::kept::Kept::new();

/// The name a certificate gives its issuer: the department's. Kept in memory while no
/// department changes, so the transaction does not read it under the SQLite writer's
/// turn (issue 9). Read as committed, like every kept thing: a value read inside a transaction
/// could be one that never commits.
pub async fn department_name(db: &Db, code: &str) -> Result<Option<String>> {
    let read = async {
        Ok(crate::catalogue::department(db, code)
            .await?
            .map(|d| d.name))
    };
    DEPARTMENT_NAMES
        .get_or_read(db, code.to_string(), read)
        .await
}

pub async fn certificate_of(db: &Db, case_number: &str) -> Result<Option<Certificate>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT number, case_number, item, applicant_id, issued_on, valid_until FROM certificates \
         WHERE case_number = $1"
    )
    .bind(case_number)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

pub async fn record_issuance(
    tx: &mut Tx,
    case_number: &str,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<()> {
    let (method, pickup, carrier, tracking, certificate, address) = match delivery {
        Delivery::Pickup { code } => ("pickup", Some(code.as_str()), None, None, None, None),
        Delivery::Mail {
            address,
            carrier,
            tracking_number,
        } => (
            "mail",
            None,
            Some(carrier.as_str()),
            Some(tracking_number.as_str()),
            None,
            Some(address.as_str()).filter(|a| !a.is_empty()),
        ),
        Delivery::Locker { .. } => ("locker", None, None, None, None, None),
        Delivery::Electronic { certificate } => (
            "electronic",
            None,
            None,
            None,
            Some(certificate.as_str()),
            None,
        ),
    };
    tx.write(
        "INSERT INTO issuances (case_number, method, pickup_code, carrier, tracking_number, certificate, address, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            case_number.into(),
            method.into(),
            pickup.into(),
            carrier.into(),
            tracking.into(),
            certificate.into(),
            address.into(),
            micros(now).into(),
        ],
    )
    .await?;
    Ok(())
}
