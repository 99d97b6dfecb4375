//! What both SQL engines share: a [`Selection`] as a `WHERE` clause over `households h`
//! (or `areas h`), with `?` placeholders and its text parameters, in the order they
//! appear. PostgreSQL numbers the placeholders ([`numbered`]).

use shared::Period;

use super::{Scope, Selection};

/// `WHERE` clause over `households h` (or `areas h`, when the selection is by area
/// only) for `selection`, with its parameters.
pub fn clause(selection: &Selection) -> (String, Vec<String>) {
    let mut params = Vec::new();
    let mut sql = match &selection.scope {
        Scope::All => "1 = 1".to_owned(),
        Scope::Nothing => "0 = 1".to_owned(),
        Scope::Area(area) => {
            let (kind, name) = area.parts();
            params.push(name.to_owned());
            format!("h.{} = ?", kind.code())
        }
        Scope::Cadre(login) => {
            params.push(login.clone());
            "h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)".to_owned()
        }
    };
    let f = &selection.filter;
    for (column, value) in [("township", &f.township), ("site", &f.site), ("grid", &f.grid)] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND h.{column} = ?"));
            params.push(v.clone());
        }
    }
    if let Some(cadre) = &f.cadre {
        sql.push_str(" AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)");
        params.push(cadre.clone());
    }
    (sql, params)
}

/// The query for the ids of `selection`'s households without a summary for `period`,
/// at most `at_most` of them (all, for `None`), with its parameters (the period, then
/// the clause's).
pub fn missing_summaries(selection: &Selection, period: Period, at_most: Option<usize>) -> (String, Vec<String>) {
    let (where_sql, params) = clause(selection);
    let limit = at_most.map_or(String::new(), |n| format!(" LIMIT {}", i64::try_from(n).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT h.id FROM households h
         WHERE NOT EXISTS (SELECT 1 FROM summaries s WHERE s.period = ? AND s.household_id = h.id) AND {where_sql}{limit}"
    );
    let mut all = vec![period.to_string()];
    all.extend(params);
    (sql, all)
}

/// `sql` with its `?` placeholders numbered `$1`, `$2` … (PostgreSQL). The statements
/// of this crate hold no `?` other than placeholders.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use shared::api::Area;

    use super::*;
    use crate::store::HouseholdFilter;

    #[test]
    fn selections_become_clauses_with_their_parameters_in_order() {
        let s = Selection {
            scope: Scope::Area(Area::Site("阳光社区".into())),
            filter: HouseholdFilter { grid: Some("1栋".into()), cadre: Some("c1".into()), ..Default::default() },
        };
        let (sql, params) = clause(&s);
        assert_eq!(
            sql,
            "h.site = ? AND h.grid = ? AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)"
        );
        assert_eq!(params, ["阳光社区", "1栋", "c1"]);
        assert_eq!(
            numbered(&format!("x = ? AND {sql}")),
            "x = $1 AND h.site = $2 AND h.grid = $3 AND h.id IN (SELECT household_id FROM assignments WHERE user_id = $4)"
        );
        assert_eq!(clause(&Selection { scope: Scope::Nothing, filter: HouseholdFilter::default() }).0, "0 = 1");
    }
}
