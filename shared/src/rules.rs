//! 写入规则 (write rules): who may change which field of a household document through
//! sync. One table, [`RULES`]; the server enforces it on every upload
//! ([`check_upload`]), the app follows it ([`may_write`]) and PROTOCOL.md §4.4 prints
//! it. The server's own actions (a supervisor's review or conflict pick, a roster
//! import) are made in a person's name on the server and are not uploads.
//!
//! A rule judges what an upload *does*: every operation of every new change, whoever
//! the change claims to be from (a change's actor and author stamp are the phone's
//! to write, so they prove nothing), and the values the household holds once merged.

use std::collections::HashSet;

use crate::api::Role;
use crate::case::{CaseAct, CaseStatus};
use crate::doc::HouseholdDoc;
use crate::fields::Scalar;
use crate::label::Coded;
use crate::model::{ReviewAction, ReviewStatus};

/// A set of fields with one write rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldGroup {
    /// `schema`, `f/registry_no`: the document's layout version and 户编码.
    Identity,
    /// `f/county`, `f/township`, `f/site`, `f/grid` (户的位置): which supervisors see the
    /// household. Only a roster import or an admin moves a household.
    Place,
    /// `v/<P>/review` (审核状态).
    ReviewStatus,
    /// `v/<P>/rv/<entry>/<field>` (审核记录).
    ReviewStep,
    /// `v/<P>/by/<user>` (走访人).
    Visitor,
    /// `f/monitoring`, `f/dibao`, `f/tekun`: the household's monitoring type (which a
    /// case's decision sets) and its safety-net support (which elimination relies on).
    Support,
    /// `p/<measure>/<field>` (帮扶措施台账), kept by supervisors.
    Measure,
    /// `k/status` (监测状态).
    CaseStatus,
    /// `k/s/<entry>/<field>` (监测步骤).
    CaseStep,
    /// `v/<P>/a/<entry>/<field>` (走访佐证).
    Attachment,
    /// Everything else: the facts a cadre may correct (address, origin, category …),
    /// members, and visits.
    Record,
}

/// What a cadre's upload may do to a group (admins may do anything; supervisors do not
/// upload: they act through the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CadreMay {
    /// Put and delete values.
    Write,
    /// Nothing.
    Nothing,
    /// Put `pending` (待审核) only: a resubmission.
    PutPending,
    /// Add their own resubmission steps (`act` = `resubmit`, `by` = themselves) and
    /// change nothing of any other step.
    OwnResubmitSteps,
    /// Put or delete their own entry only (`by/<their login>`).
    OwnEntry,
    /// Put `clue` (待核实) or `verified` (待研判) only: a clue or its verification.
    PutClueOrVerified,
    /// Add their own steps that raise a clue or verify one, and change nothing of any
    /// other step.
    OwnClueSteps,
    /// Add attachments as themselves (`by` their own login); of one already there,
    /// change only `removed` and `caption`; delete nothing else.
    OwnAttachments,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRule {
    /// The fields.
    pub group: FieldGroup,
    /// Their keys, as PROTOCOL.md writes them.
    pub keys: &'static str,
    /// What a cadre's upload may do.
    pub cadre: CadreMay,
    /// The rule in Chinese.
    pub zh: &'static str,
    /// The rule in English.
    pub en: &'static str,
}

/// The write rules, by group.
pub const RULES: [WriteRule; 11] = [
    WriteRule {
        group: FieldGroup::Identity,
        keys: "schema, f/registry_no",
        cadre: CadreMay::Nothing,
        zh: "户编码和格式版本只由花名册导入写入",
        en: "The registry number and layout version are written by roster imports only",
    },
    WriteRule {
        group: FieldGroup::Place,
        keys: "f/county, f/township, f/site, f/grid",
        cadre: CadreMay::Nothing,
        zh: "户的县、乡镇、安置点、网格只由花名册导入或管理员修改",
        en: "A household's county, township, site and grid are changed by roster imports and admins only",
    },
    WriteRule {
        group: FieldGroup::ReviewStatus,
        keys: "v/<P>/review",
        cadre: CadreMay::PutPending,
        zh: "审核状态由督导写入；帮扶干部只能在重新提交时改为“待审核”",
        en: "Review status is written by supervisors; a cadre may only set it back to pending when resubmitting",
    },
    WriteRule {
        group: FieldGroup::ReviewStep,
        keys: "v/<P>/rv/<entry>/<field>",
        cadre: CadreMay::OwnResubmitSteps,
        zh: "帮扶干部只能添加本人的“修改后重新提交”记录，不能修改或删除任何审核记录",
        en: "A cadre may only add their own resubmission steps, and may change or delete no review step",
    },
    WriteRule {
        group: FieldGroup::Visitor,
        keys: "v/<P>/by/<user>",
        cadre: CadreMay::OwnEntry,
        zh: "帮扶干部只能把本人记为走访人",
        en: "A cadre may only record themselves as a visitor",
    },
    WriteRule {
        group: FieldGroup::Support,
        keys: "f/monitoring, f/dibao, f/tekun",
        cadre: CadreMay::Nothing,
        zh: "监测类型由督导研判写入；低保、特困由花名册导入或管理员修改",
        en: "The monitoring type follows a supervisor's decision; 低保 and 特困 are changed by roster imports and admins only",
    },
    WriteRule {
        group: FieldGroup::Measure,
        keys: "p/<measure>/<field>",
        cadre: CadreMay::Nothing,
        zh: "帮扶措施由督导在督导台登记",
        en: "Help measures are recorded by supervisors in the console",
    },
    WriteRule {
        group: FieldGroup::CaseStatus,
        keys: "k/status",
        cadre: CadreMay::PutClueOrVerified,
        zh: "监测状态由督导研判写入；帮扶干部只能上报线索（待核实）或完成入户核实（待研判）",
        en: "The case status is decided by supervisors; a cadre may only raise a clue or record its verification",
    },
    WriteRule {
        group: FieldGroup::CaseStep,
        keys: "k/s/<entry>/<field>",
        cadre: CadreMay::OwnClueSteps,
        zh: "帮扶干部只能添加本人的“发现风险线索”“入户核实”步骤，不能修改或删除任何监测步骤",
        en: "A cadre may only add their own clue and verification steps, and may change or delete no case step",
    },
    WriteRule {
        group: FieldGroup::Attachment,
        keys: "v/<P>/a/<entry>/<field>",
        cadre: CadreMay::OwnAttachments,
        zh: "帮扶干部以本人名义添加走访佐证；已有的佐证只能修改说明或标记删除，不能改写或抹去",
        en: "A cadre adds evidence as themselves; of evidence already there, only the caption and the removed mark may change, and nothing is erased",
    },
    WriteRule {
        group: FieldGroup::Record,
        keys: "f/<other facts>, m/…, v/<P>/<other fields>",
        cadre: CadreMay::Write,
        zh: "帮扶干部可记录走访、成员及可更正的户信息",
        en: "A cadre may record visits, members and the household facts a cadre may correct",
    },
];

/// The group of the field under `key`.
pub fn group(key: &str) -> FieldGroup {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("schema"), None, ..) | (Some("f"), Some("registry_no"), None, _) => FieldGroup::Identity,
        (Some("f"), Some("county" | "township" | "site" | "grid"), None, _) => FieldGroup::Place,
        (Some("v"), Some(_), Some("review"), None) => FieldGroup::ReviewStatus,
        (Some("v"), Some(_), Some("rv"), Some(_)) => FieldGroup::ReviewStep,
        (Some("v"), Some(_), Some("by"), Some(_)) => FieldGroup::Visitor,
        (Some("f"), Some("monitoring" | "dibao" | "tekun"), None, _) => FieldGroup::Support,
        (Some("p"), Some(_), Some(_), None) => FieldGroup::Measure,
        (Some("k"), Some("status"), None, _) => FieldGroup::CaseStatus,
        (Some("k"), Some("s"), Some(_), Some(_)) => FieldGroup::CaseStep,
        (Some("v"), Some(_), Some("a"), Some(_)) => FieldGroup::Attachment,
        _ => FieldGroup::Record,
    }
}

/// Whether a cadre's write of the case's status moves it as a cadre may: a clue only
/// where there was no case, or a closed or eliminated one (a new round); a verification
/// only of a clue. The statuses judged are those the cadre's changes were made on, so
/// a decision the cadre had seen is never undone, and one they had not is a conflict.
fn cadre_may_move(w: &Write) -> bool {
    let to = match &w.value {
        Some(Scalar::Str(s)) => CaseStatus::from_code(s),
        _ => None,
    };
    let from: Vec<Option<CaseStatus>> = w
        .replaced
        .iter()
        .map(|v| match v {
            Scalar::Str(s) => CaseStatus::from_code(s),
            _ => None,
        })
        .collect();
    let from = if from.is_empty() { vec![None] } else { from };
    from.iter().all(|f| match to {
        Some(CaseStatus::Clue) => matches!(f, None | Some(CaseStatus::Closed | CaseStatus::Eliminated)),
        Some(CaseStatus::Verified) => *f == Some(CaseStatus::Clue),
        _ => false,
    })
}

/// The rule of `group`.
pub fn rule(group: FieldGroup) -> &'static WriteRule {
    RULES.iter().find(|r| r.group == group).unwrap_or(&RULES[RULES.len() - 1])
}

/// Whether `role` (as `user`) may upload `value` under `key` (`None`: delete it), as far
/// as the key and value alone tell: what the app checks before it offers an edit or a
/// conflict pick. [`check_upload`] also looks at what a review step holds once merged.
pub fn may_write(role: Role, user: &str, key: &str, value: Option<&Scalar>) -> bool {
    match role {
        Role::Admin => true,
        Role::Supervisor => false,
        Role::Cadre => match rule(group(key)).cadre {
            CadreMay::Write => true,
            CadreMay::Nothing => false,
            CadreMay::PutPending => {
                matches!(value, Some(Scalar::Str(s)) if s == ReviewStatus::Pending.code())
            }
            CadreMay::OwnResubmitSteps => value.is_some(),
            CadreMay::OwnEntry => key.rsplit('/').next() == Some(user),
            // Never offered as a conflict pick: a cadre's clue or verification is judged
            // with the status it was made on (`check_upload`).
            CadreMay::PutClueOrVerified => false,
            CadreMay::OwnClueSteps => value.is_some(),
            CadreMay::OwnAttachments => match (key.rsplit('/').next(), value) {
                (Some("by"), Some(Scalar::Str(by))) => by == user,
                (Some("removed" | "caption"), _) => true,
                (_, v) => v.is_some(),
            },
        },
    }
}

/// One write an upload makes: a root key, the value put (`None`: deleted), and whether
/// it supersedes a value that did not come with the same upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The key.
    pub key: String,
    /// The value put, or `None` for a deletion.
    pub value: Option<Scalar>,
    /// It replaces (or deletes) a value someone else wrote before.
    pub overwrites: bool,
    /// For the case's status (`k/status`), the values the uploader's changes were made
    /// on (what the key held at the changes' dependencies); empty elsewhere.
    pub replaced: Vec<Scalar>,
}

/// An upload that breaks a rule: the first write that does, and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The key written.
    pub key: String,
    /// The rule broken.
    pub rule: &'static WriteRule,
}

/// Every write made by the changes `hashes` of `doc` (the changes an upload brought),
/// or `Err(key)` when one of them is not a write to a root key (an object, a list, a
/// counter, a mark): the layout has none of those.
pub fn writes_of(doc: &HouseholdDoc, hashes: &[automerge::ChangeHash]) -> Result<Vec<Write>, String> {
    use automerge::ReadDoc;
    use automerge::legacy::{Key, ObjectId, OpId, OpType};
    let changes: Vec<automerge::ExpandedChange> = hashes
        .iter()
        .map(|h| doc.automerge().get_change_by_hash(h).map(|c| c.decode()).ok_or_else(|| h.to_string()))
        .collect::<Result<_, _>>()?;
    let ours: HashSet<OpId> = changes
        .iter()
        .flat_map(|c| (0..c.operations.len() as u64).map(|i| OpId(c.start_op.get() + i, c.actor_id.clone())))
        .collect();
    // What the uploader had when making these changes: the dependencies outside them.
    let uploaded: HashSet<automerge::ChangeHash> = hashes.iter().copied().collect();
    let base: Vec<automerge::ChangeHash> = hashes
        .iter()
        .filter_map(|h| doc.automerge().get_change_by_hash(h))
        .flat_map(|c| c.deps().to_vec())
        .filter(|d| !uploaded.contains(d))
        .collect();
    let mut writes = Vec::new();
    for op in changes.iter().flat_map(|c| &c.operations) {
        let Key::Map(key) = &op.key else { return Err("<list element>".to_owned()) };
        if op.obj != ObjectId::Root {
            return Err(key.to_string());
        }
        let value = match &op.action {
            OpType::Put(v) => Some(crate::doc::scalar_from_owned(key, v).map_err(|_| key.to_string())?),
            OpType::Delete => None,
            _ => return Err(key.to_string()),
        };
        let overwrites = op.pred.iter().any(|p| !ours.contains(p));
        let replaced = if group(key) == FieldGroup::CaseStatus {
            let before = doc.automerge().get_all_at(automerge::ROOT, key.as_str(), &base).unwrap_or_default();
            before
                .into_iter()
                .filter_map(|(v, _)| match v {
                    automerge::Value::Scalar(s) => crate::doc::scalar_from_owned(key, &s).ok(),
                    automerge::Value::Object(_) => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        writes.push(Write { key: key.to_string(), value, overwrites, replaced });
    }
    Ok(writes)
}

/// Checks the writes of an upload by `role` (`user`) against [`RULES`], with `merged`
/// the household document once they are merged in.
pub fn check_upload(role: Role, user: &str, writes: &[Write], merged: &HouseholdDoc) -> Result<(), Breach> {
    let breach = |key: &str| Breach { key: key.to_owned(), rule: rule(group(key)) };
    if role == Role::Admin {
        return Ok(());
    }
    for w in writes {
        if group(&w.key) == FieldGroup::CaseStatus && role == Role::Cadre {
            if cadre_may_move(w) {
                continue;
            }
            return Err(breach(&w.key));
        }
        if !may_write(role, user, &w.key, w.value.as_ref()) {
            return Err(breach(&w.key));
        }
        if group(&w.key) == FieldGroup::CaseStep {
            // As review steps: new steps of one's own, each a clue or a verification
            // in every value it holds once merged, dated the day its entry id says.
            let entry = w.key.rsplit_once('/').map_or(w.key.as_str(), |(entry, _)| entry);
            let values = |field: &str| merged.all_values(&format!("{entry}/{field}"));
            let at = entry.rsplit('/').next().and_then(|id| id.split('-').next()).and_then(|t| t.parse::<i64>().ok());
            let day = at.map(|t| crate::period::Date::in_china(t).to_string());
            let dated = values("on").is_ok_and(|vs| {
                !vs.is_empty() && vs.iter().all(|(v, _)| matches!(v, Scalar::Str(s) if Some(s) == day.as_ref()))
            });
            if !dated {
                return Err(breach(&w.key));
            }
            let by_me = values("by")
                .is_ok_and(|vs| !vs.is_empty() && vs.iter().all(|(v, _)| matches!(v, Scalar::Str(s) if s == user)));
            let acts_ok = values("act").is_ok_and(|vs| {
                !vs.is_empty()
                    && vs.iter().all(|(v, _)| {
                        matches!(v, Scalar::Str(s) if s == CaseAct::Clue.code() || s == CaseAct::Verify.code())
                    })
            });
            if w.overwrites || !by_me || !acts_ok {
                return Err(breach(&w.key));
            }
        }
        if group(&w.key) == FieldGroup::Attachment
            && w.overwrites
            && !matches!(w.key.rsplit('/').next(), Some("removed" | "caption"))
        {
            // What an attachment is (its hash, kind, size, who added it) is written
            // once: a cadre's upload never rewrites or erases it.
            return Err(breach(&w.key));
        }
        if group(&w.key) == FieldGroup::ReviewStep {
            // Only new steps of one's own, only as resubmissions: nothing someone
            // else wrote is replaced, and the step holds, in every value it has once
            // merged, this cadre as author and "resubmit" as its act.
            let entry = w.key.rsplit_once('/').map_or(w.key.as_str(), |(entry, _)| entry);
            let only = |field: &str, want: &str| {
                merged
                    .all_values(&format!("{entry}/{field}"))
                    .is_ok_and(|vs| !vs.is_empty() && vs.iter().all(|(v, _)| matches!(v, Scalar::Str(s) if s == want)))
            };
            if w.overwrites || !only("by", user) || !only("act", ReviewAction::Resubmit.code()) {
                return Err(breach(&w.key));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
