//! The material vault over HTTP: upload a material of a case's applicant (stored once under
//! its SHA-256), list what the vault offers a case (材料共享: valid materials of the same
//! applicant that the item requires), and download a file.
//!
//! Where bytes live: on SQLite a directory next to the database file (`<db>.vault/`); on
//! PostgreSQL, where several instances share the database but not a disk, the database. The
//! setting `vault.dir` names a shared directory instead.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::{Error, Role};
use yichuang_store::Tx;
use yichuang_store::cases::vault::{self, BlobStore, NewMaterial};
use yichuang_store::events::{self, NewEvent};

use super::service::{self, Env};
use crate::auth::CurrentActor;
use crate::clock::hall_zone;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/cases/{number}/materials/{code}",
            put(upload).layer(DefaultBodyLimit::max(vault::MAX_BYTES + 1)),
        )
        .route("/api/v1/cases/{number}/vault", get(offers))
        .route("/api/v1/cases/{number}/files/{sha256}", get(download))
}

/// The blob store this deployment uses.
pub async fn blob_store(state: &AppState) -> Result<BlobStore, Error> {
    vault::blob_store(&state.db, &state.config.database_url).await
}

#[derive(Deserialize, Default)]
struct UploadQuery {
    #[serde(default)]
    valid_until: Option<NaiveDate>,
}

async fn upload(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((number, code)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    actor.require_role(
        &[Role::Clerk, Role::HallManager, Role::Admin],
        "上传申请材料",
    )?;
    let l = service::load(&st, &number).await?;
    let Some(requirement) = l.item.materials.iter().find(|m| m.code == code) else {
        return Err(Error::validation(vec![])
            .field("code", format!("事项“{}”没有材料“{code}”", l.item.name))
            .into());
    };
    vault::check_upload(&body)?;
    let now = st.now();
    let today = now.with_timezone(&hall_zone()).date_naive();
    if let Some(v) = q.valid_until.filter(|v| *v < today) {
        return Err(Error::validation(vec![])
            .field(
                "valid_until",
                format!("有效期至 {v} 已早于今天（{today}），过期的材料不能存入材料库"),
            )
            .into());
    }
    let blobs = blob_store(&st).await?;
    let upload = Upload {
        code: code.clone(),
        name: requirement.name.clone(),
        bytes: body.to_vec(),
        valid_until: q.valid_until,
    };
    let mut written = Vec::new();
    let stored = async {
        let prepared = prepare_all(&blobs, std::slice::from_ref(&upload), &mut written).await?;
        let mut tx = st.db.begin().await?;
        let ids = store_all(
            &mut tx,
            &blobs,
            l.row.applicant_id,
            &l.case.number,
            &actor.event_name(),
            &prepared,
            now,
            &mut written,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(ids)
    }
    .await;
    let ids = match stored {
        Ok(ids) => ids,
        Err(e) => {
            blobs.discard(&st.db, &written).await;
            return Err(e.into());
        }
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({"id": ids[0], "material_code": code, "sha256": vault::sha256_hex(&upload.bytes),
                   "size": upload.bytes.len(), "content_type": vault::sniff(&upload.bytes)}),
        ),
    )
        .into_response())
}

/// A file kept in the vault as part of a change (an upload, a supplement, an application).
pub struct Upload {
    /// The material code (for a bundle: the shared material or `ITEM:CODE`).
    pub code: String,
    pub name: String,
    pub bytes: Vec<u8>,
    pub valid_until: Option<NaiveDate>,
}

/// An upload checked and its file written, for [`store_all`] to record.
pub struct Prepared<'a> {
    upload: &'a Upload,
    blob: vault::Prepared<'a>,
}

/// Checks `uploads` and writes their files, before the transaction that records them sends its
/// first statement (see [`vault::prepare_blob`]). All are checked before any is written, and
/// the hashes of new files go to `written` at once: if anything after fails, the caller passes
/// them to `BlobStore::discard`, so no orphan file stays behind.
pub async fn prepare_all<'a>(
    blobs: &BlobStore,
    uploads: &'a [Upload],
    written: &mut Vec<String>,
) -> Result<Vec<Prepared<'a>>, Error> {
    let files: Vec<&[u8]> = uploads.iter().map(|u| u.bytes.as_slice()).collect();
    let blobs = vault::prepare_blobs(blobs, &files, written).await?;
    Ok(uploads
        .iter()
        .zip(blobs)
        .map(|(upload, blob)| Prepared { upload, blob })
        .collect())
}

/// Records prepared uploads as the applicant's materials in the caller's transaction, with an
/// event each. A file written again under the lock goes to `written` too.
#[allow(clippy::too_many_arguments)]
pub async fn store_all(
    tx: &mut Tx,
    blobs: &BlobStore,
    applicant_id: i64,
    case_number: &str,
    actor: &str,
    prepared: &[Prepared<'_>],
    now: DateTime<Utc>,
    written: &mut Vec<String>,
) -> Result<Vec<i64>, Error> {
    let mut ids = Vec::new();
    for Prepared { upload: u, blob } in prepared {
        let stored = vault::store(
            tx,
            blobs,
            &NewMaterial {
                applicant_id,
                material_code: &u.code,
                name: &u.name,
                valid_until: u.valid_until,
                source_case: Some(case_number),
            },
            blob,
            now,
        )
        .await?;
        vault::note_written(written, &stored.sha256, stored.new_file);
        events::append(
            tx,
            now,
            NewEvent {
                actor,
                kind: "vault_material_stored",
                subject_type: "case",
                subject_id: case_number,
                payload: json!({"material": u.code, "sha256": stored.sha256, "size": u.bytes.len()}),
            },
        )
        .await?;
        ids.push(stored.id);
    }
    Ok(ids)
}

async fn offers(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = service::load(&st, &number).await?;
    service::may_view(&actor, &l)?;
    let env = Env::at(&st, st.now(), l.row.hall.as_deref()).await?;
    let held = vault::valid_for(&st.db, l.row.applicant_id, env.today()).await?;
    let items: Vec<_> = held
        .iter()
        .map(|m| {
            json!({"id": m.id, "material_code": m.material_code, "name": m.name,
                        "sha256": m.sha256, "size": m.size, "content_type": m.content_type,
                        "valid_until": m.valid_until, "source_case": m.source_case})
        })
        .collect();
    // What the checklist can prefill: the item's materials the vault holds.
    let prefill: Vec<&str> = l
        .item
        .materials
        .iter()
        .filter(|r| held.iter().any(|m| m.material_code == r.code))
        .map(|r| r.code.as_str())
        .collect();
    Ok(axum::Json(json!({"materials": items, "prefill": prefill})).into_response())
}

async fn download(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((number, sha)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (m, bytes) = case_file(&st, &actor, &number, &sha).await?;
    let name = file_name(&m);
    Ok((crate::security::file_headers(&m.content_type, &name), bytes).into_response())
}

/// The ASCII name a saved file gets (the material's code and the start of its hash).
pub fn file_name(m: &vault::VaultMaterial) -> String {
    format!(
        "{}-{}",
        m.material_code,
        &m.sha256[..12.min(m.sha256.len())]
    )
}

/// The vault's materials a case's staff may open: its applicant's valid files.
pub async fn case_files(
    st: &AppState,
    l: &service::Loaded,
) -> Result<Vec<vault::VaultMaterial>, Error> {
    let env = Env::at(st, st.now(), l.row.hall.as_deref()).await?;
    vault::valid_for(&st.db, l.row.applicant_id, env.today()).await
}

/// One file of a case's applicant with its bytes, for `actor` who may view the case. Only the
/// files of this case's applicant, so a case number opens nobody else's papers.
pub async fn case_file(
    st: &AppState,
    actor: &yichuang_domain::Actor,
    number: &str,
    sha: &str,
) -> Result<(vault::VaultMaterial, Vec<u8>), Error> {
    let l = service::load(st, number).await?;
    service::may_view(actor, &l)?;
    let held = case_files(st, &l).await?;
    let Some(m) = held.into_iter().find(|m| m.sha256 == sha) else {
        return Err(Error::not_found("blob_not_found", "文件不存在"));
    };
    let bytes = blob_store(st).await?.get(&st.db, &m.sha256).await?;
    Ok((m, bytes))
}

/// The vault entry of the certificate an approved case left there (under the code of the
/// item's result).
pub async fn certificate_material(
    state: &AppState,
    l: &service::Loaded,
) -> Result<Option<vault::VaultMaterial>, Error> {
    let code = l.item.result.vault_code(&l.item.code);
    vault::left_by_case(&state.db, l.row.applicant_id, &l.row.number, &code).await
}

/// The electronic certificate an approved case left in the vault, with its bytes.
pub async fn certificate_file(
    state: &AppState,
    l: &service::Loaded,
) -> Result<Option<(vault::VaultMaterial, Vec<u8>)>, Error> {
    let Some(m) = certificate_material(state, l).await? else {
        return Ok(None);
    };
    let bytes = blob_store(state).await?.get(&state.db, &m.sha256).await?;
    Ok(Some((m, bytes)))
}
