//! huhujian's shared core: the household record, its Automerge document, validation,
//! indicators and conflicts. Used by both the phone app (wasm32) and the server.
//! No IO happens here: no clock, no network, no files, no randomness.
//!
//! ```
//! use automerge::ActorId;
//! use shared::{HouseholdDoc, Stamp, VisitMode};
//!
//! let stamp = Stamp::new("cadre01", "李明", 1_795_000_000);
//! let mut doc = HouseholdDoc::create("5223010001", ActorId::random(), &stamp).unwrap();
//! // One saved visit = one commit.
//! doc.edit(&stamp, |h| {
//!     h.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::InPerson);
//! })
//! .unwrap();
//! assert!(doc.household().unwrap().visits["2026-11"].is_in_person());
//! assert!(doc.conflicts().unwrap().is_empty());
//! ```

pub mod api;
pub mod case;
pub mod client;
pub mod codes;
pub mod conflict;
#[cfg(not(target_arch = "wasm32"))]
pub mod describe;
pub mod doc;
pub mod evidence;
pub mod fields;
pub mod history;
pub mod idcard;
pub mod income;
pub mod indicators;
pub mod label;
pub mod model;
pub mod must_visit;
pub mod period;
pub mod prefill;
pub mod rules;
pub mod settings;
pub mod validate;
pub mod wire;

pub use automerge;
pub use case::{Case, CaseAct, CaseStatus, CaseStep, ClueSource, Measure, MeasureKind};
pub use conflict::{Conflict, ConflictValue};
pub use doc::{Author, DocError, HouseholdDoc, Stamp};
pub use fields::{Fields, Scalar, SchemaError};
pub use label::{Coded, Lang};
pub use model::*;
pub use period::{Date, Period};
pub use settings::{Settings, YearSettings};
pub use validate::{Problem, Rule, Severity, validate};
