//! 错误代码: every code an error answer's `error` may hold, as one enum that the server
//! writes, the app matches on and PROTOCOL.md lists (a test in this module checks both
//! ways). A document's refusal in a sync (`wire::RefusalCode`) is one of them too, as
//! [`ErrorCode::Refused`]: `POST /api/sync/{id}` answers a refused document with its code.

use crate::wire::RefusalCode;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// A stable, machine-readable error code (PROTOCOL.md says which endpoint gives
        /// which, with its status).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A document refused (`wire::RefusalCode`), answered as an error by the
            /// one-document sync.
            Refused(RefusalCode),
        }

        impl ErrorCode {
            /// The codes that are not a document's refusal.
            const OWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code on the wire.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Refused(r) => r.code(),
                }
            }
        }
    };
}

error_codes! {
    // Any endpoint.
    /// The body or query cannot be read (axum's own refusal, before any handler).
    BadRequest = "bad_request",
    /// Malformed JSON, or a field this call does not know.
    BadJson = "bad_json",
    /// A body over the endpoint's limit.
    TooLarge = "too_large",
    /// A method the path does not take.
    MethodNotAllowed = "method_not_allowed",
    /// A `Content-Type` the endpoint does not take.
    UnsupportedMediaType = "unsupported_media_type",
    /// No valid session token.
    Unauthorized = "unauthorized",
    /// Signed in, but not allowed.
    Forbidden = "forbidden",
    /// No such thing, or not in the caller's scope (one answer for both).
    NotFound = "not_found",
    /// Too many requests from this address: wait `Retry-After`.
    RateLimited = "rate_limited",
    /// Something went wrong on the server (logged there).
    Internal = "internal",
    /// A malformed period (`YYYY-MM`).
    BadPeriod = "bad_period",
    /// A period outside the kept months.
    PeriodOutOfRange = "period_out_of_range",
    /// A malformed household id.
    BadId = "bad_id",

    // Logging in and accounts (§1, §6).
    /// Wrong login or password.
    WrongCredentials = "wrong_credentials",
    /// Too many wrong passwords: wait `Retry-After`.
    Locked = "locked",
    /// The account is disabled.
    AccountDisabled = "account_disabled",
    /// A malformed device id.
    BadDevice = "bad_device",
    /// A malformed login.
    BadLogin = "bad_login",
    /// A password too weak.
    WeakPassword = "weak_password",
    /// An unknown role.
    BadRole = "bad_role",
    /// A malformed area.
    BadArea = "bad_area",
    /// A supervisor without an area.
    AreaRequired = "area_required",
    /// A name empty or too long.
    BadName = "bad_name",
    /// A malformed phone number.
    BadPhone = "bad_phone",
    /// The login is taken.
    UserExists = "user_exists",
    /// No such login.
    UnknownUser = "unknown_user",
    /// An admin disabling themself.
    CannotDisableSelf = "cannot_disable_self",
    /// An admin taking away their own admin role.
    CannotDemoteSelf = "cannot_demote_self",
    /// Assigning a household to someone who is not a cadre.
    NotACadre = "not_a_cadre",
    /// More items than one request may carry.
    TooManyItems = "too_many_items",

    // Syncing (§4).
    /// The sync batch is not the binary format.
    BadBatch = "bad_batch",
    /// A gzip body that is corrupt or incomplete.
    UnreadableBody = "unreadable_body",
    /// A `Content-Encoding` other than gzip.
    UnsupportedEncoding = "unsupported_encoding",
    /// Supervisors do not sync.
    SyncNotForSupervisors = "sync_not_for_supervisors",
    /// A malformed phone health report.
    BadReport = "bad_report",

    // Photos and signatures (§4.7).
    /// Not 64 lowercase hex digits.
    BadHash = "bad_hash",
    /// More than 1,000 hashes asked about.
    TooManyHashes = "too_many_hashes",
    /// `total` is not the size the visit records.
    BlobSize = "blob_size",
    /// Not a household the caller may touch, or it does not reference the hash.
    BlobNotReferenced = "blob_not_referenced",
    /// Not uploaded yet.
    BlobMissing = "blob_missing",
    /// The piece starts past what the server holds.
    BlobGap = "blob_gap",
    /// Over the size limit, or empty.
    BlobTooLarge = "blob_too_large",
    /// Not a JPEG or PNG by its content.
    BlobNotImage = "blob_not_image",
    /// The bytes do not hash to the name: send them again from byte 0.
    HashMismatch = "hash_mismatch",
    /// This server keeps no blobs.
    NoBlobStore = "no_blob_store",
    /// The object store did not answer in time.
    BlobStoreUnavailable = "blob_store_unavailable",

    // Reading (§5).
    /// An unknown grouping of coverage.
    BadGrouping = "bad_grouping",
    /// An unknown list kind.
    BadKind = "bad_kind",
    /// An unknown review status.
    BadStatus = "bad_status",
    /// A number of months outside 1–36.
    BadMonths = "bad_months",
    /// An ID number given masked that matches more than one member.
    AmbiguousMaskedValue = "ambiguous_masked_value",
    /// Settings out of their bounds.
    BadSettings = "bad_settings",
    /// A document the export could not read.
    UnreadableDocuments = "unreadable_documents",

    // Console writes (§5.2, §5.3).
    /// An unknown review action.
    BadAction = "bad_action",
    /// Returning a visit without a comment.
    CommentRequired = "comment_required",
    /// No visit recorded for the period.
    NoVisit = "no_visit",
    /// Approving a visit with an unresolved conflict.
    HasConflicts = "has_conflicts",
    /// Approving an approved visit.
    AlreadyApproved = "already_approved",
    /// Resolving a field that has no conflict.
    NoConflict = "no_conflict",
    /// A malformed monitoring step.
    BadCaseStep = "bad_case_step",
    /// A monitoring step the case's status does not allow.
    CaseStepNotAllowed = "case_step_not_allowed",
    /// A household that is not a candidate for monitoring.
    NotACandidate = "not_a_candidate",
    /// Eliminating a risk the household does not meet the conditions for.
    CannotEliminate = "cannot_eliminate",
    /// A malformed help measure.
    BadMeasure = "bad_measure",
    /// A department list with rows that cannot be imported.
    CluesRejected = "clues_rejected",
    /// The department list changed since its preview.
    CluesChanged = "clues_changed",

    // Administration (§6).
    /// A roster with rows that cannot be imported.
    RosterRejected = "roster_rejected",
    /// The roster changed since its preview.
    RosterChanged = "roster_changed",
    /// A household changed while the import was written.
    RosterInterrupted = "roster_interrupted",
    /// Neither a workbook nor a CSV in a known encoding.
    BadEncoding = "bad_encoding",
    /// A zip that is not a readable `.xlsx`.
    BadWorkbook = "bad_workbook",
    /// An old Excel file (`.xls`).
    OldExcel = "old_excel",
    /// A worksheet too large to read.
    SheetTooLarge = "sheet_too_large",
    /// Rewriting a household's history with conflicts unresolved.
    ConflictsFirst = "conflicts_first",
    /// A history with nothing to rewrite.
    NothingToRewrite = "nothing_to_rewrite",
}

impl ErrorCode {
    /// Every code: the own ones, then each document refusal's.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        Self::OWN.iter().copied().chain(RefusalCode::ALL.into_iter().map(ErrorCode::Refused))
    }

    /// The code of a wire string; `None` for one this build does not know (a newer
    /// server's).
    pub fn parse(code: &str) -> Option<Self> {
        Self::all().find(|c| c.code() == code)
    }
}

impl From<RefusalCode> for ErrorCode {
    fn from(r: RefusalCode) -> Self {
        ErrorCode::Refused(r)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_distinct_and_parse_back() {
        let codes: Vec<&str> = ErrorCode::all().map(ErrorCode::code).collect();
        let distinct: BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(distinct.len(), codes.len(), "a code is written twice");
        for c in ErrorCode::all() {
            assert_eq!(ErrorCode::parse(c.code()), Some(c));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    /// PROTOCOL.md names every code, and every code it gives an error answer (a table
    /// row `| 409 | \`a\`, \`b\` |`, "\`409 a\`", `"error": "a"`) is one of these.
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn protocol_md_and_the_enum_list_the_same_codes() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md")).unwrap();
        let known: BTreeSet<&str> = ErrorCode::all().map(ErrorCode::code).collect();
        let (mut named, mut said) = (BTreeSet::new(), BTreeSet::new());
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() > 3 && is_status(cells[1]) {
                named.extend(backticked(cells[2]).into_iter().filter(|s| is_code(s)));
            }
        }
        // Across line breaks: "`400\n  bad_measure`" is "`400 bad_measure`".
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for span in backticked(&flat) {
            match span.split_once(' ') {
                Some((status, code)) if is_status(status) && is_code(code) => {
                    named.insert(code.to_owned());
                    said.insert(code.to_owned());
                }
                _ if is_code(&span) => {
                    said.insert(span);
                }
                _ => {}
            }
        }
        for part in flat.split("\"error\": \"").skip(1) {
            if let Some(code) = part.split('"').next() {
                named.insert(code.to_owned());
                said.insert(code.to_owned());
            }
        }
        let unknown: Vec<&String> = named.iter().filter(|c| !known.contains(c.as_str())).collect();
        assert!(unknown.is_empty(), "PROTOCOL.md gives codes ErrorCode lacks: {unknown:?}");
        let unsaid: Vec<&&str> = known.iter().filter(|c| !said.contains(**c)).collect();
        assert!(unsaid.is_empty(), "codes PROTOCOL.md never names: {unsaid:?}");
    }

    fn is_status(s: &str) -> bool {
        s.len() == 3 && s.starts_with(['4', '5']) && s.chars().all(|c| c.is_ascii_digit())
    }

    fn is_code(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }

    fn backticked(text: &str) -> Vec<String> {
        text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
    }
}
