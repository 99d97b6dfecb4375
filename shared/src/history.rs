//! A household's history: every change with who (as stamped), when, and which fields
//! it set or cleared. This is the audit trail supervisors read.

use automerge::ScalarValue;
use automerge::legacy::{Key, OpType};

use crate::doc::{Author, HouseholdDoc};
use crate::fields::Scalar;

/// One change to a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    /// The change hash, hex.
    pub hash: String,
    /// Who, as stamped on the change (`None` for a foreign change).
    pub author: Option<Author>,
    /// When, Unix seconds, as stamped.
    pub at: i64,
    /// Each field the change touched, with its new value (`None`: cleared).
    pub fields: Vec<(String, Option<Scalar>)>,
}

fn scalar(v: &ScalarValue) -> Option<Scalar> {
    match v {
        ScalarValue::Str(s) => Some(Scalar::Str(s.to_string())),
        ScalarValue::Int(i) => Some(Scalar::Int(*i)),
        ScalarValue::Uint(u) => i64::try_from(*u).ok().map(Scalar::Int),
        ScalarValue::Boolean(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

impl HouseholdDoc {
    /// Every change, oldest first (in causal order).
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.automerge()
            .get_changes(&[])
            .into_iter()
            .map(|change| {
                let fields = change
                    .decode()
                    .operations
                    .iter()
                    .filter_map(|op| {
                        let Key::Map(key) = &op.key else { return None };
                        let value = match &op.action {
                            OpType::Put(v) => scalar(v),
                            _ => None,
                        };
                        Some((key.to_string(), value))
                    })
                    .collect();
                HistoryEntry {
                    hash: change.hash().to_string(),
                    author: Author::from_message(change.message()),
                    at: change.timestamp(),
                    fields,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::doc::Stamp;
    use crate::*;

    #[test]
    fn history_lists_each_commit_with_its_fields() {
        let a = Stamp::new("cadre01", "李明", 10);
        let mut doc = HouseholdDoc::create("h1", automerge::ActorId::from(vec![1; 16]), &a).unwrap();
        doc.edit(&Stamp::new("cadre01", "李明", 20), |h| h.facts.address = "1栋".into()).unwrap();
        doc.edit(&Stamp::new("sup01", "王主任", 30), |h| h.facts.address.clear()).unwrap();
        let history = doc.history();
        assert_eq!(history.len(), 3);
        assert_eq!(history[1].fields, [("f/address".to_owned(), Some(Scalar::Str("1栋".into())))]);
        assert_eq!(history[2].fields, [("f/address".to_owned(), None)]);
        assert_eq!(history[2].author.as_ref().unwrap().name, "王主任");
        assert_eq!(history[2].at, 30);
    }
}
