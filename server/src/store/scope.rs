//! Which households a request is about, typed: the caller's [`Scope`] (what their
//! account may see) narrowed by a [`HouseholdFilter`] (what they asked for). Each
//! engine turns a [`Selection`] into its own query; no SQL text crosses this line.

use shared::api::{Area, Role, User};

/// 可见范围: the households an account may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every household (admins).
    All,
    /// The households of an area (supervisors).
    Area(Area),
    /// The households assigned to this cadre (login).
    Cadre(String),
    /// None (a supervisor without an area).
    Nothing,
}

impl Scope {
    /// What `user` may see.
    pub fn of(user: &User) -> Self {
        match (user.role, &user.area) {
            (Role::Admin, _) => Scope::All,
            (Role::Supervisor, Some(area)) => Scope::Area(area.clone()),
            (Role::Supervisor, None) => Scope::Nothing,
            (Role::Cadre, _) => Scope::Cadre(user.id.clone()),
        }
    }
}

/// A narrowing of a scope: the dashboards' `township=`, `site=`, `grid=`, `cadre=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct HouseholdFilter {
    /// 乡镇
    pub township: Option<String>,
    /// 安置点
    pub site: Option<String>,
    /// 网格
    pub grid: Option<String>,
    /// Households assigned to this cadre (login).
    pub cadre: Option<String>,
}

/// A scope and a filter: the households a read is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// What the caller may see.
    pub scope: Scope,
    /// What they asked for within it.
    pub filter: HouseholdFilter,
}

impl Selection {
    /// Everything `user` may see.
    pub fn of(user: &User) -> Self {
        Self { scope: Scope::of(user), filter: HouseholdFilter::default() }
    }
    /// `filter` within what `user` may see.
    pub fn filtered(user: &User, filter: HouseholdFilter) -> Self {
        Self { scope: Scope::of(user), filter }
    }
    /// Every household, for the server's own work (`crate::month`).
    pub fn everything() -> Self {
        Self { scope: Scope::All, filter: HouseholdFilter::default() }
    }
    /// One grid (of a county, township and site), for any caller.
    pub fn grid(area: &[String; 4]) -> Self {
        let [county, township, site, grid] = area.clone();
        Self {
            scope: Scope::Area(Area::County(county)),
            filter: HouseholdFilter { township: Some(township), site: Some(site), grid: Some(grid), cadre: None },
        }
    }
    /// Whether it narrows by area only (no cadre): such a selection is a set of whole
    /// grids, whose kept totals can be added instead of every household's summary.
    pub fn by_area_only(&self) -> bool {
        !matches!(self.scope, Scope::Cadre(_)) && self.filter.cadre.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, area: Option<Area>) -> User {
        User { id: "u1".into(), name: "某".into(), role, area, phone: String::new() }
    }

    #[test]
    fn scopes_follow_roles_and_only_area_selections_take_grid_totals() {
        assert_eq!(Scope::of(&user(Role::Admin, None)), Scope::All);
        assert_eq!(Scope::of(&user(Role::Supervisor, None)), Scope::Nothing);
        let site = Area::Site("阳光小区".into());
        assert_eq!(Scope::of(&user(Role::Supervisor, Some(site.clone()))), Scope::Area(site.clone()));
        assert_eq!(Scope::of(&user(Role::Cadre, Some(site.clone()))), Scope::Cadre("u1".into()));
        assert!(Selection::of(&user(Role::Admin, None)).by_area_only());
        assert!(Selection::of(&user(Role::Supervisor, Some(site))).by_area_only());
        assert!(!Selection::of(&user(Role::Cadre, None)).by_area_only());
        let by_cadre = HouseholdFilter { cadre: Some("c1".into()), ..Default::default() };
        assert!(!Selection::filtered(&user(Role::Admin, None), by_cadre).by_area_only());
    }
}
