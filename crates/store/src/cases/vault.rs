//! The material vault (材料共享库): files stored once under their SHA-256, with type, owner and
//! validity, and offered again when the same applicant applies later.
//!
//! The bytes sit behind [`BlobStore`]: a directory by default ([`DirBlobs`]), the database
//! ([`DbBlobs`]) when several instances share PostgreSQL and no shared disk. The metadata row
//! is always in the database, in the caller's transaction.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use yichuang_domain::{Error, Result};

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

/// The largest file accepted (a scanned multi-page PDF fits comfortably).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

/// The content types accepted, recognised by their first bytes (the declared type is not
/// trusted).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Checks size and type; returns the content type.
pub fn check_upload(bytes: &[u8]) -> Result<&'static str> {
    if bytes.is_empty() {
        return Err(Error::validation(vec![]).field("file", "文件为空"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(Error::validation(vec![]).field(
            "file",
            format!("文件过大（最大 {} MB）", MAX_BYTES / 1024 / 1024),
        ));
    }
    sniff(bytes)
        .ok_or_else(|| Error::validation(vec![]).field("file", "只接受 PDF、JPEG 或 PNG 文件"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the bytes live.
pub enum BlobStore {
    Dir(DirBlobs),
    Db(DbBlobs),
}

/// Files under `root/ab/abcdef…`; written before the metadata commits, so a crash leaves at
/// worst an orphan file, never a row without its bytes.
pub struct DirBlobs {
    pub root: PathBuf,
}

/// Bytes in `vault_blobs.data`, in the same transaction as the row.
pub struct DbBlobs;

impl DirBlobs {
    pub(crate) fn path(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2]).join(sha)
    }

    /// Writes the file unless it is there; true when written. Written under a name of its own
    /// and then renamed: a reader never sees half a file, and two writers of the same bytes
    /// outside the writer's turn never write into one temporary file.
    pub(crate) fn write(&self, sha: &str, bytes: &[u8]) -> Result<bool> {
        let path = self.path(sha);
        if path.exists() {
            return Ok(false);
        }
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir).map_err(Error::internal)?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!("{sha}.{}-{n}.part", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(Error::internal)?;
        std::fs::rename(&tmp, &path).map_err(Error::internal)?;
        Ok(true)
    }
}

/// Where this deployment keeps the bytes: the directory the setting `vault.dir` names; else,
/// on SQLite, a directory next to the database file (`<db>.vault/`); else (PostgreSQL, where
/// instances share the database but not a disk) the database. One rule for the server and
/// for backup and restore, so a restore puts files where the server will look.
pub fn blob_store_for(
    database_url: &str,
    vault_dir_setting: Option<&serde_json::Value>,
) -> BlobStore {
    let dir = vault_dir_setting
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if let Some(d) = dir {
        return BlobStore::Dir(DirBlobs {
            root: PathBuf::from(d),
        });
    }
    match database_url.strip_prefix("sqlite:") {
        Some(path) => BlobStore::Dir(DirBlobs {
            root: PathBuf::from(format!("{}.vault", path.trim_start_matches("//"))),
        }),
        None => BlobStore::Db(DbBlobs),
    }
}

/// [`blob_store_for`] with the setting read from `db`.
pub async fn blob_store(db: &Db, database_url: &str) -> Result<BlobStore> {
    let setting = crate::settings::get(db, "vault.dir").await?;
    Ok(blob_store_for(database_url, setting.as_ref()))
}

impl BlobStore {
    /// Puts the bytes under the blob's lock, after [`prepare_blob`]; true when a new file was
    /// written (which [`BlobStore::discard`] removes again if the transaction does not commit).
    async fn put(&self, tx: &mut Tx, p: &Prepared<'_>) -> Result<bool> {
        match self {
            // The file was written before the turn, but a discard of the same bytes may have
            // removed it since: under the lock it is there for good, or written again here.
            BlobStore::Dir(d) => Ok(d.write(&p.sha, p.bytes)? || p.new_file),
            BlobStore::Db(_) => {
                tx_run!(tx, |c| sqlx::query(
                    "UPDATE vault_blobs SET data = $1 WHERE sha256 = $2 AND data IS NULL"
                )
                .bind(p.bytes)
                .bind(&p.sha)
                .execute(c)
                .await
                .map_err(db_err)?
                .rows_affected());
                Ok(false)
            }
        }
    }

    /// Removes files written by [`store`] calls whose transaction did not commit, unless a
    /// committed row refers to them after all: a refused command leaves no orphan file.
    ///
    /// Another transaction may be storing the same bytes at this moment, having found this
    /// file already there; it holds the blob's lock (see [`lock_blob`]) until it ends, so the
    /// check waits for it and then sees its row. On SQLite the writers of a process take turns,
    /// and both the store and the discard take the turn before they look for the file (the
    /// store wrote it before, and looks again under the turn).
    pub async fn discard(&self, db: &Db, written: &[String]) {
        let BlobStore::Dir(d) = self else { return };
        for sha in written {
            let checked = async {
                let mut tx = db.begin().await?;
                lock_blob(&mut tx, sha).await?;
                let referenced: i64 = tx_run!(&mut tx, |c| sqlx::query_scalar(
                    "SELECT COUNT(*) FROM vault_blobs WHERE sha256 = $1"
                )
                .bind(sha)
                .fetch_one(c)
                .await
                .map_err(db_err))?;
                if referenced == 0 {
                    let _ = tokio::fs::remove_file(d.path(sha)).await;
                }
                tx.commit().await
            };
            if let Err(e) = checked.await {
                tracing::warn!(sha = %sha, error = %e.title, "vault: could not check an unused file");
            }
        }
    }

    pub async fn get(&self, db: &Db, sha: &str) -> Result<Vec<u8>> {
        let missing = || Error::not_found("blob_not_found", "文件不存在");
        match self {
            BlobStore::Dir(d) => tokio::fs::read(d.path(sha)).await.map_err(|_| missing()),
            BlobStore::Db(_) => {
                let data: Option<Option<Vec<u8>>> = db_run!(db, |c| sqlx::query_scalar(
                    "SELECT data FROM vault_blobs WHERE sha256 = $1"
                )
                .bind(sha)
                .fetch_optional(c)
                .await
                .map_err(db_err)?);
                data.flatten().ok_or_else(missing)
            }
        }
    }
}

/// Holds the blob `sha` for the rest of the transaction (PostgreSQL: an advisory lock on the
/// hash), so a writer that finds the file and a discard that would remove it never interleave.
/// In call order: the writes deferred before it are sent first.
async fn lock_blob(tx: &mut Tx, sha: &str) -> Result<()> {
    // On SQLite the writer's turn is the lock: a transaction takes it at its first statement,
    // so it is taken here, before the file is looked for again (a discard of the same file
    // waits).
    tx.flush().await?;
    tx.on_postgres("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", sha)
        .await?;
    Ok(())
}

pub struct NewMaterial<'a> {
    pub applicant_id: i64,
    pub material_code: &'a str,
    pub name: &'a str,
    pub valid_until: Option<NaiveDate>,
    pub source_case: Option<&'a str>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VaultMaterial {
    pub id: i64,
    pub material_code: String,
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub valid_until: Option<String>,
    pub source_case: Option<String>,
}

/// A material stored by [`store`].
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub sha256: String,
    /// A new file was written for it: if the transaction fails, pass the hash to
    /// [`BlobStore::discard`].
    pub new_file: bool,
}

/// A file's bytes checked, hashed and, in a directory, written: what [`store_prepared`] records.
pub struct Prepared<'a> {
    pub sha: String,
    content_type: &'static str,
    bytes: &'a [u8],
    /// This call wrote the file: if nothing commits a row for it, pass the hash to
    /// [`BlobStore::discard`].
    pub new_file: bool,
}

/// Checks a file and writes it to the directory store. Call it before the transaction that
/// records it sends its first statement: creating the file (the inode, the write, the rename)
/// under the SQLite writer's turn held every other write of the process waiting (issue 9).
/// Nothing refers to the file until [`store_prepared`] records it: a new file's hash goes to
/// `written` at once, for [`BlobStore::discard`] if anything after fails.
pub async fn prepare_blob<'a>(
    blobs: &BlobStore,
    bytes: &'a [u8],
    written: &mut Vec<String>,
) -> Result<Prepared<'a>> {
    let content_type = check_upload(bytes)?;
    write_checked(blobs, bytes, content_type, written).await
}

/// [`prepare_blob`] for bytes [`check_upload`] has passed as `content_type`.
async fn write_checked<'a>(
    blobs: &BlobStore,
    bytes: &'a [u8],
    content_type: &'static str,
    written: &mut Vec<String>,
) -> Result<Prepared<'a>> {
    let sha = sha256_hex(bytes);
    let new_file = match blobs {
        BlobStore::Dir(d) => {
            let (root, key, owned) = (d.root.clone(), sha.clone(), bytes.to_vec());
            tokio::task::spawn_blocking(move || DirBlobs { root }.write(&key, &owned))
                .await
                .map_err(Error::internal)??
        }
        BlobStore::Db(_) => false,
    };
    note_written(written, &sha, new_file);
    Ok(Prepared {
        sha,
        content_type,
        bytes,
        new_file,
    })
}

/// [`prepare_blob`] for the files of one change: every file is checked before any is written,
/// so that a bad one among good ones leaves nothing behind.
pub async fn prepare_blobs<'a>(
    blobs: &BlobStore,
    files: &[&'a [u8]],
    written: &mut Vec<String>,
) -> Result<Vec<Prepared<'a>>> {
    let checked = files
        .iter()
        .map(|bytes| Ok((*bytes, check_upload(bytes)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut prepared = Vec::with_capacity(files.len());
    for (bytes, content_type) in checked {
        prepared.push(write_checked(blobs, bytes, content_type, written).await?);
    }
    Ok(prepared)
}

/// Adds the hash of a file a call wrote (`new_file`) to the list that is passed to
/// [`BlobStore::discard`] if the transaction does not commit, once.
pub fn note_written(written: &mut Vec<String>, sha: &str, new_file: bool) {
    if new_file && !written.iter().any(|w| w == sha) {
        written.push(sha.to_string());
    }
}

/// Records prepared bytes once (by their hash) inside the caller's transaction, for a row of
/// the caller's that refers to the hash. Returns whether a new file was written (to
/// [`BlobStore::discard`] if the transaction fails).
pub async fn store_prepared(
    tx: &mut Tx,
    blobs: &BlobStore,
    p: &Prepared<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    lock_blob(tx, &p.sha).await?;
    // Deferred, and the material's row through `Tx::returning`: on SQLite both run on the
    // writer's turn without handing its connection back to its thread (issue 9).
    tx.write(
        "INSERT INTO vault_blobs (sha256, size, content_type, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sha256) DO NOTHING",
        vec![
            p.sha.as_str().into(),
            (p.bytes.len() as i64).into(),
            p.content_type.into(),
            micros(now).into(),
        ],
    )
    .await?;
    blobs.put(tx, p).await
}

/// Records a prepared file as the applicant's material.
pub async fn store(
    tx: &mut Tx,
    blobs: &BlobStore,
    m: &NewMaterial<'_>,
    p: &Prepared<'_>,
    now: DateTime<Utc>,
) -> Result<Stored> {
    let new_file = store_prepared(tx, blobs, p, now).await?;
    let id = tx
        .returning(
            "INSERT INTO vault_materials (applicant_id, material_code, name, sha256, valid_until, \
             source_case, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id AS value",
            vec![
                m.applicant_id.into(),
                m.material_code.into(),
                m.name.into(),
                p.sha.as_str().into(),
                m.valid_until.map(|d| d.to_string()).into(),
                m.source_case.into(),
                micros(now).into(),
            ],
        )
        .await?;
    Ok(Stored {
        id,
        sha256: p.sha.clone(),
        new_file,
    })
}

/// The applicant's materials still valid on `today`, newest first: what the checklist offers.
pub async fn valid_for(db: &Db, applicant_id: i64, today: NaiveDate) -> Result<Vec<VaultMaterial>> {
    db_run!(db, |c| {
        sqlx::query_as(
        "SELECT m.id, m.material_code, m.name, m.sha256, b.size, b.content_type, m.valid_until, m.source_case \
         FROM vault_materials m JOIN vault_blobs b ON b.sha256 = m.sha256 \
         WHERE m.applicant_id = $1 AND (m.valid_until IS NULL OR m.valid_until >= $2) ORDER BY m.id DESC"
    )
    .bind(applicant_id)
    .bind(today.to_string())
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// The file a case left in the vault under `material_code` (an approval's certificate), valid
/// or not: its holder may always download what was issued to them.
pub async fn left_by_case(
    db: &Db,
    applicant_id: i64,
    case_number: &str,
    material_code: &str,
) -> Result<Option<VaultMaterial>> {
    db_run!(db, |c| {
        sqlx::query_as(
        "SELECT m.id, m.material_code, m.name, m.sha256, b.size, b.content_type, m.valid_until, m.source_case \
         FROM vault_materials m JOIN vault_blobs b ON b.sha256 = m.sha256 \
         WHERE m.applicant_id = $1 AND m.source_case = $2 AND m.material_code = $3 \
         ORDER BY m.id DESC LIMIT 1"
    )
    .bind(applicant_id)
    .bind(case_number)
    .bind(material_code)
    .fetch_optional(c)
    .await
    .map_err(db_err)
    })
}
