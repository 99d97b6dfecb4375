//! A household's history: every change with who (as stamped), when, and which fields
//! it set or cleared. This is the audit trail supervisors read.

use automerge::legacy::{Key, OpType};
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use crate::doc::{Author, HouseholdDoc};
use crate::fields::Scalar;

/// One change to a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
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
                let hash = change.hash();
                let fields = change
                    .decode()
                    .operations
                    .iter()
                    .filter_map(|op| {
                        let Key::Map(key) = &op.key else { return None };
                        let value = match &op.action {
                            OpType::Put(v) => scalar(v),
                            // Automerge writes "keep the value that reads now" over a
                            // conflict (a resolution) as a delete of the other values:
                            // the field then holds what it reads right after the change.
                            OpType::Delete => match self.automerge().get_at(ROOT, key.as_str(), &[hash]) {
                                Ok(Some((Value::Scalar(v), _))) => scalar(&v),
                                _ => None,
                            },
                            _ => None,
                        };
                        Some((key.to_string(), value))
                    })
                    .collect();
                HistoryEntry {
                    hash: hash.to_string(),
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

    /// Settling a conflict on the value that reads now is stored by Automerge as a
    /// delete of the other value; the history shows the value kept, not "cleared".
    #[test]
    fn a_resolution_shows_the_value_kept() {
        let a = Stamp::new("cadre01", "李明", 10);
        let mut x = HouseholdDoc::create("h1", automerge::ActorId::from(vec![1; 16]), &a).unwrap();
        let mut y = HouseholdDoc::load(&x.save(), automerge::ActorId::from(vec![2; 16])).unwrap();
        x.edit(&a, |h| h.facts.address = "A".into()).unwrap();
        y.edit(&a, |h| h.facts.address = "B".into()).unwrap();
        x.merge(&mut y).unwrap();
        for keep in [x.household().unwrap().facts.address, "A".to_owned()] {
            let mut d = HouseholdDoc::load(&x.save(), automerge::ActorId::from(vec![3; 16])).unwrap();
            d.resolve(&Stamp::new("sup01", "王", 30), "f/address", &Scalar::Str(keep.clone())).unwrap();
            assert!(d.conflicts().unwrap().is_empty());
            assert_eq!(d.history().last().unwrap().fields, [("f/address".to_owned(), Some(Scalar::Str(keep)))]);
        }
    }
}
