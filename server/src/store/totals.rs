//! Kept per-grid totals (`area_totals`, both engines): what one grid's row holds for a
//! period (the indicators its summaries add up to, and its coverage per cadre), how it
//! is encoded, and coverage by site, grid or cadre added up from such rows. No IO: each
//! engine reads and writes the rows, and its triggers delete a grid's rows whenever one
//! of its summaries, its households or their assignments change.

use std::collections::BTreeMap;

use shared::indicators::{Coverage, Indicators};

use super::{CoverageTable, Grouping, StoreError, StoreResult};

/// One grid's kept total for a period.
#[derive(Debug)]
pub struct AreaTotal {
    /// Its site (安置点).
    pub site: String,
    /// The grid (网格).
    pub grid: String,
    /// Households in the grid.
    pub households: u32,
    /// Its summaries added up.
    pub indicators: Indicators,
    /// Its coverage per cadre assigned households in it (a household with two cadres
    /// counts for each).
    pub cadres: Vec<CadreCount>,
}

/// One cadre's coverage within one grid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CadreCount {
    /// The cadre's login.
    pub login: String,
    /// Their households in the grid, visited, signed.
    pub coverage: Coverage,
}

/// A grid's coverage per cadre as [`CadreCount`]s, from a coverage table keyed by login.
pub fn cadre_counts(table: CoverageTable) -> Vec<CadreCount> {
    table.into_iter().map(|(login, (_, coverage))| CadreCount { login, coverage }).collect()
}

/// Encodes a grid's coverage per cadre.
pub fn encode_cadres(cadres: &[CadreCount]) -> StoreResult<Vec<u8>> {
    postcard::to_allocvec(cadres).map_err(|e| StoreError::Projection(e.to_string()))
}

/// Decodes a grid's coverage per cadre.
pub fn decode_cadres(blob: &[u8]) -> StoreResult<Vec<CadreCount>> {
    postcard::from_bytes(blob).map_err(|e| StoreError::Projection(e.to_string()))
}

/// Coverage by site, grid or cadre, added up from grid totals; `names` gives each
/// cadre's name by login (used only by cadre).
pub fn coverage(totals: &[AreaTotal], by: Grouping, names: &BTreeMap<String, String>) -> CoverageTable {
    let mut table = CoverageTable::new();
    for t in totals {
        let of_grid =
            Coverage { assigned: t.households, visited: t.indicators.visited_in_person, signed: t.indicators.signed };
        match by {
            Grouping::Site => add(&mut table, t.site.clone(), || t.site.clone(), of_grid),
            Grouping::Grid => add(&mut table, format!("{} / {}", t.site, t.grid), || t.grid.clone(), of_grid),
            Grouping::Cadre => {
                for c in &t.cadres {
                    let name = || names.get(&c.login).cloned().unwrap_or_else(|| c.login.clone());
                    add(&mut table, c.login.clone(), name, c.coverage);
                }
            }
        }
    }
    table
}

fn add(table: &mut CoverageTable, key: String, label: impl FnOnce() -> String, c: Coverage) {
    let (_, sum) = table.entry(key).or_insert_with(|| (label(), Coverage::default()));
    *sum += c;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(site: &str, grid: &str, households: u32, visited: u32, cadres: &[(&str, u32, u32)]) -> AreaTotal {
        let indicators = Indicators { visited_in_person: visited, ..Default::default() };
        let cadres = cadres
            .iter()
            .map(|(l, a, v)| CadreCount {
                login: (*l).to_owned(),
                coverage: Coverage { assigned: *a, visited: *v, signed: 0 },
            })
            .collect();
        AreaTotal { site: site.into(), grid: grid.into(), households, indicators, cadres }
    }

    #[test]
    fn grids_add_up_by_site_grid_and_cadre() {
        let totals = [
            total("甲", "1", 10, 4, &[("c1", 6, 3), ("c2", 4, 1)]),
            total("甲", "2", 5, 5, &[("c1", 5, 5)]),
            total("乙", "1", 7, 0, &[]),
        ];
        let names = BTreeMap::from([("c1".to_owned(), "李明".to_owned())]);
        let by_site = coverage(&totals, Grouping::Site, &names);
        assert_eq!(by_site["甲"].1, Coverage { assigned: 15, visited: 9, signed: 0 });
        assert_eq!(by_site["乙"].1.assigned, 7);
        let by_grid = coverage(&totals, Grouping::Grid, &names);
        assert_eq!(by_grid["甲 / 2"], ("2".to_owned(), Coverage { assigned: 5, visited: 5, signed: 0 }));
        let by_cadre = coverage(&totals, Grouping::Cadre, &names);
        assert_eq!(by_cadre["c1"], ("李明".to_owned(), Coverage { assigned: 11, visited: 8, signed: 0 }));
        assert_eq!(by_cadre["c2"].0, "c2", "a login without a name is its own label");
        assert_eq!(by_cadre.len(), 2);
    }

    #[test]
    fn cadre_counts_round_trip() {
        let c = vec![CadreCount { login: "c1".into(), coverage: Coverage { assigned: 3, visited: 2, signed: 1 } }];
        assert_eq!(decode_cadres(&encode_cadres(&c).unwrap()).unwrap(), c);
        assert!(decode_cadres(&[0xff]).is_err());
    }
}
