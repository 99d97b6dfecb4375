//! Conflict listing: every field where concurrent edits left two or more different
//! values (Automerge `get_all`), each value with who wrote it and when. Automerge picks
//! a winner silently; this is how a person gets to see and choose.

use std::collections::HashMap;

use automerge::{ActorId, ObjId, ReadDoc};

use crate::doc::{Author, HouseholdDoc};
use crate::fields::{Scalar, SchemaError};

/// A field with more than one concurrent value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Conflict {
    /// The field's path key (see `fields.rs`).
    pub key: String,
    /// Every concurrent value; the one that currently reads as the value comes first.
    pub values: Vec<ConflictValue>,
}

/// One of a conflicted field's values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ConflictValue {
    /// The value.
    pub value: Scalar,
    /// Who entered it, as stamped on the change (`None` for a foreign change).
    pub author: Option<Author>,
    /// When, in Unix seconds, as stamped on the change.
    pub at: i64,
    /// The Automerge actor (device) that wrote it, hex.
    pub actor: String,
}

/// The ops one change holds, with its stamp.
struct ChangeSpan {
    ops: std::ops::Range<u64>,
    at: i64,
    author: Option<Author>,
}

/// Where each op came from: for each actor, the op ranges of its changes.
struct ChangeIndex(HashMap<ActorId, Vec<ChangeSpan>>);

impl ChangeIndex {
    fn new(doc: &HouseholdDoc) -> Self {
        let mut by_actor: HashMap<ActorId, Vec<_>> = HashMap::new();
        for change in doc.automerge().get_changes(&[]) {
            let start = change.start_op().get();
            let end = start + change.len() as u64;
            let author = Author::from_message(change.message());
            let span = ChangeSpan { ops: start..end, at: change.timestamp(), author };
            by_actor.entry(change.actor_id().clone()).or_default().push(span);
        }
        Self(by_actor)
    }

    fn find(&self, op: &ObjId) -> (String, i64, Option<Author>) {
        let ObjId::Id(counter, actor, _) = op else {
            return (String::new(), 0, None);
        };
        let found = self.0.get(actor).and_then(|spans| spans.iter().find(|s| s.ops.contains(counter)));
        match found {
            Some(span) => (actor.to_hex_string(), span.at, span.author.clone()),
            None => (actor.to_hex_string(), 0, None),
        }
    }
}

impl HouseholdDoc {
    /// Every field with two or more different concurrent values. Concurrent writes of
    /// the same value are agreement, not conflict, and are not listed.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, SchemaError> {
        let conflicted: Vec<String> = self
            .automerge()
            .map_range(automerge::ROOT, ..)
            .filter(|item| item.conflict)
            .map(|item| item.key.into_owned())
            .collect();
        if conflicted.is_empty() {
            return Ok(Vec::new());
        }
        let index = ChangeIndex::new(self);
        let mut out = Vec::new();
        for key in conflicted {
            let values = self.all_values(&key)?;
            let first = &values[0].0;
            if values.iter().all(|(v, _)| v == first) {
                continue;
            }
            let winner = self.fields()?.remove(&key);
            let mut values: Vec<ConflictValue> = values
                .into_iter()
                .map(|(value, op)| {
                    let (actor, at, author) = index.find(&op);
                    ConflictValue { value, author, at, actor }
                })
                .collect();
            values.sort_by_key(|v| Some(&v.value) != winner.as_ref());
            out.push(Conflict { key, values });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Stamp;

    #[test]
    fn same_field_clash_is_listed_with_both_authors_and_resolving_clears_it() {
        let a = Stamp::new("cadre01", "李明", 100);
        let b = Stamp::new("cadre02", "张华", 200);
        let mut one = HouseholdDoc::create("h1", ActorId::from(vec![1; 16]), &a).unwrap();
        let mut two = HouseholdDoc::load(&one.save(), ActorId::from(vec![2; 16])).unwrap();
        one.edit(&a, |h| h.facts.address = "3栋501".into()).unwrap();
        two.edit(&b, |h| h.facts.address = "3栋502".into()).unwrap();
        // Same value on both sides: agreement, not a conflict.
        one.edit(&a, |h| h.facts.grid = "G1".into()).unwrap();
        two.edit(&b, |h| h.facts.grid = "G1".into()).unwrap();
        one.merge(&mut two).unwrap();

        let conflicts = one.conflicts().unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(one.check_counting_conflicts().unwrap().1, 1, "the server's count agrees: grid is agreement");
        let c = &conflicts[0];
        assert_eq!(c.key, "f/address");
        let mut seen: Vec<(String, String, i64)> =
            c.values.iter().map(|v| (v.value.to_string(), v.author.clone().unwrap().name, v.at)).collect();
        seen.sort();
        assert_eq!(seen, [("3栋501".into(), "李明".into(), 100), ("3栋502".into(), "张华".into(), 200)]);
        assert_eq!(Some(&c.values[0].value), one.fields().unwrap().get("f/address"), "winner first");

        // Picking the value that already reads as the winner still clears the conflict.
        let winner = c.values[0].value.clone();
        one.resolve(&Stamp::new("sup01", "王主任", 300), "f/address", &winner).unwrap();
        assert!(one.conflicts().unwrap().is_empty());
        assert_eq!(one.check_counting_conflicts().unwrap().1, 0);
        two.merge(&mut one).unwrap();
        assert!(two.conflicts().unwrap().is_empty(), "cleared for everyone after sync");
        assert_eq!(two.fields().unwrap().get("f/address"), Some(&winner));
    }
}
