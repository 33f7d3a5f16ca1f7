//! Questions about the database as a whole.

use yichuang_domain::Result;

use crate::db::db_err;
use crate::{Db, db_run};

/// Nothing has been set up yet: no department and no account but the bootstrap `admin`.
pub async fn is_unconfigured(db: &Db) -> Result<bool> {
    let n: i64 = db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM departments) + (SELECT COUNT(*) FROM accounts WHERE username <> 'admin')"
    )
    .fetch_one(c)
    .await
    .map_err(db_err)?
    });
    Ok(n == 0)
}
