//! The way out of the size cap (`store::MAX_DOC_BYTES`): an administrator rewrites a
//! household's history keeping its current values (PROTOCOL.md §4.5). The new document
//! is one change by the administrator; the retired one is kept whole in the database,
//! the act is audited, and phones still holding the retired history are told to replace
//! their copy (`shared::client::rebase` carries their unsynced writes over).

use axum::Json;
use axum::extract::{Path, State};
use shared::api::ErrorCode;
use shared::wire::RefusalCode;
use shared::{Date, HouseholdDoc, Stamp};

use super::admin_only;
use crate::AppState;
use crate::auth::{self, Session};
use crate::denied::{Denied, Kind};
use crate::error::{AppError, AppResult};
use crate::store::{self, Scope, StoreError, Writer};
pub use shared::api::RewriteReport;

/// Why a household's history was not rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteRefused {
    /// No such household.
    #[error("household {0} does not exist")]
    Unknown(String),
    /// Fields are in conflict: a rewrite would keep one value silently.
    #[error("household {household} has {count} conflicted fields; settle them first")]
    Conflicts {
        /// 户编码
        household: String,
        /// How many.
        count: usize,
    },
    /// The history is one change already.
    #[error("household {0}'s history is a single change already")]
    NothingToRewrite(String),
    /// The stored document does not load or read (the store's error says which).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The current values do not make a valid document.
    #[error("household {household}: {detail}")]
    Invalid {
        /// 户编码
        household: String,
        /// What failed.
        detail: String,
    },
}

/// Rewrites household `id`'s history as one change signed `by`, in the caller's
/// transaction: the old document is retired (kept), every device's sync state with it
/// dropped, and the act audited.
pub fn rewrite(w: &mut dyn Writer, id: &str, by: &Stamp, today: Date) -> Result<RewriteReport, RewriteRefused> {
    w.lock_households(&Scope::All, &[id])?;
    let stored = w.stored_doc(id)?.ok_or_else(|| RewriteRefused::Unknown(id.to_owned()))?;
    let doc = store::parse_doc(id, &stored.bytes)?;
    let invalid = |detail: String| RewriteRefused::Invalid { household: id.to_owned(), detail };
    let conflicts = doc.conflicts().map_err(|e| invalid(e.to_string()))?;
    if !conflicts.is_empty() {
        return Err(RewriteRefused::Conflicts { household: id.to_owned(), count: conflicts.len() });
    }
    // Every change of the history: their hashes are kept to recognise phones that hold it.
    let hashes: Vec<_> = doc.automerge().get_changes(&[]).iter().map(|c| c.hash()).collect();
    let changes_before = hashes.len();
    if changes_before <= 1 {
        return Err(RewriteRefused::NothingToRewrite(id.to_owned()));
    }
    let fields = doc.fields().map_err(|e| invalid(e.to_string()))?;
    let fresh = HouseholdDoc::from_fields(&fields, store::server_actor(), by).map_err(|e| invalid(e.to_string()))?;
    let household = fresh.check().map_err(|e| invalid(e.to_string()))?;
    let user = by.author.user.as_str();
    w.retire_doc(id, &stored.bytes, &hashes, user, by.at)?;
    w.log_changes(id, &fresh.heads(), user, "rewrite", by.at)?;
    w.save_doc(id, &fresh, &household, today, by.at)?;
    let report = RewriteReport {
        household: id.to_owned(),
        bytes_before: stored.bytes.len(),
        bytes_after: fresh.save().len(),
        changes_before,
        fields: fields.len(),
    };
    let detail = format!(
        "{id}: {} changes, {} bytes → 1 change, {} bytes; the retired document is kept",
        report.changes_before, report.bytes_before, report.bytes_after
    );
    w.audit(by.at, user, "rewrite_history", &detail)?;
    Ok(report)
}

impl From<RewriteRefused> for Denied {
    /// The refusal for the administrator, in both languages.
    fn from(e: RewriteRefused) -> Self {
        match e {
            RewriteRefused::Unknown(id) => Denied::not_found(&id),
            RewriteRefused::Conflicts { household, count } => Denied::new(
                Kind::Conflict,
                ErrorCode::ConflictsFirst,
                format!("户 {household} 有 {count} 项冲突未处理，请先处理冲突再整理记录"),
                format!("Household {household} has {count} unsettled conflicts; settle them before rewriting"),
            ),
            RewriteRefused::NothingToRewrite(id) => Denied::new(
                Kind::Conflict,
                ErrorCode::NothingToRewrite,
                format!("户 {id} 的记录只有一次修改，无需整理"),
                format!("Household {id}'s history is a single change already; there is nothing to rewrite"),
            ),
            RewriteRefused::Store(e) => Denied::Store(e),
            RewriteRefused::Invalid { household, detail } => Denied::new(
                Kind::Unprocessable,
                ErrorCode::Refused(RefusalCode::Schema),
                format!("户 {household} 的当前记录不符合格式：{detail}"),
                format!("Household {household}'s current record breaks the layout: {detail}"),
            ),
        }
    }
}

/// `POST /api/admin/households/{id}/rewrite`: admins only.
pub async fn rewrite_handler(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Json<RewriteReport>> {
    admin_only(&session)?;
    if !shared::fields::is_valid_id(&id) {
        return Err(AppError::not_found(&id));
    }
    let stamp = Stamp::new(session.user.id.clone(), session.user.name.clone(), auth::now());
    let today = Date::in_china(stamp.at);
    let report = state.store.write(move |w| rewrite(w, &id, &stamp, today).map_err(Denied::from)).await?;
    Ok(Json(report))
}
