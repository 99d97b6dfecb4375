//! Accounts in PostgreSQL: users, sessions and login throttling, assignments, the
//! audit log.

use std::collections::BTreeMap;

use shared::api::{Area, AreaCount, AssignedHousehold, Person, Role, User, UserRow};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PgConn;
use crate::store::{Credentials, NewAccount, StoreResult};

fn user_from_row(r: &Row) -> User {
    let role: String = r.get("role");
    let kind: Option<String> = r.get("area_kind");
    let area: Option<String> = r.get("area");
    User {
        id: r.get("id"),
        name: r.get("name"),
        role: Role::parse(&role).unwrap_or(Role::Cadre),
        area: kind.zip(area).and_then(|(k, a)| Area::from_parts(&k, &a)),
        phone: r.get("phone"),
    }
}

fn area_columns(area: Option<&Area>) -> (Option<&'static str>, Option<&str>) {
    match area.map(Area::parts) {
        Some((kind, name)) => (Some(kind.code()), Some(name)),
        None => (None, None),
    }
}

pub fn user(c: &PgConn<'_>, login: &str) -> StoreResult<Option<User>> {
    Ok(c.query_opt("SELECT id, name, role, area_kind, area, phone FROM users WHERE id = $1", &[&login])?
        .map(|r| user_from_row(&r)))
}

pub fn session(c: &PgConn<'_>, token_hash: &[u8], at: i64) -> StoreResult<Option<(User, String)>> {
    Ok(c.query_opt(
        "SELECT u.id, u.name, u.role, u.area_kind, u.area, u.phone, s.device_id FROM sessions s
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND NOT u.disabled AND s.expires_at > $2",
        &[&token_hash, &at],
    )?
    .map(|r| (user_from_row(&r), r.get("device_id"))))
}

/// In a write transaction the row stays locked until it commits: a login's check and
/// its count of failures are one step, however many processes take logins at once.
pub fn credentials(c: &PgConn<'_>, login: &str) -> StoreResult<Option<Credentials>> {
    let sql = if c.writable {
        "SELECT password_hash, failed_logins, locked_until, disabled FROM users WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT password_hash, failed_logins, locked_until, disabled FROM users WHERE id = $1"
    };
    Ok(c.query_opt(sql, &[&login])?.map(|r| Credentials {
        password_hash: r.get(0),
        failed_logins: r.get(1),
        locked_until: r.get(2),
        disabled: r.get(3),
    }))
}

pub fn user_rows(c: &PgConn<'_>, login: Option<&str>, at: i64) -> StoreResult<Vec<UserRow>> {
    let rows = c.query(
        "SELECT u.id, u.name, u.role, u.area_kind, u.area, u.failed_logins, u.locked_until, u.disabled, u.created_at,
                (SELECT COUNT(*) FROM assignments a WHERE a.user_id = u.id), u.phone
         FROM users u WHERE $1::TEXT IS NULL OR u.id = $1
         ORDER BY CASE u.role WHEN 'admin' THEN 0 WHEN 'supervisor' THEN 1 ELSE 2 END, u.id COLLATE \"C\"",
        &[&login],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let role: String = r.get(2);
            let kind: Option<String> = r.get(3);
            let area: Option<String> = r.get(4);
            let locked_until: i64 = r.get(6);
            UserRow {
                login: r.get(0),
                name: r.get(1),
                role: Role::parse(&role).unwrap_or(Role::Cadre),
                area: kind.zip(area).map(|(k, a)| format!("{k}:{a}")),
                failed_logins: r.get(5),
                locked_until: (locked_until > at).then_some(locked_until),
                disabled: r.get(7),
                created_at: r.get(8),
                assigned: r.get(9),
                phone: r.get(10),
            }
        })
        .collect())
}

pub fn logins_with_role(c: &PgConn<'_>, role: Role) -> StoreResult<Vec<String>> {
    Ok(c.query("SELECT id FROM users WHERE role = $1 ORDER BY id COLLATE \"C\"", &[&role.code()])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub fn insert_user(c: &PgConn<'_>, account: &NewAccount<'_>) -> StoreResult<bool> {
    let user = account.user;
    let (kind, area) = area_columns(user.area.as_ref());
    let n = c.execute(
        "INSERT INTO users (id, name, role, area_kind, area, password_hash, created_at, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        &[
            &user.id,
            &user.name,
            &user.role.code(),
            &kind,
            &area,
            &account.password_hash,
            &account.created_at,
            &user.phone,
        ],
    )?;
    Ok(n > 0)
}

pub fn set_user(c: &PgConn<'_>, user: &User) -> StoreResult<()> {
    let (kind, area) = area_columns(user.area.as_ref());
    c.execute(
        "UPDATE users SET name = $2, role = $3, area_kind = $4, area = $5, phone = $6 WHERE id = $1",
        &[&user.id, &user.name, &user.role.code(), &kind, &area, &user.phone],
    )?;
    Ok(())
}

pub fn set_password_hash(c: &PgConn<'_>, login: &str, hash: &str, clear_throttle: bool) -> StoreResult<()> {
    let sql = if clear_throttle {
        "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = 0 WHERE id = $1"
    } else {
        "UPDATE users SET password_hash = $2 WHERE id = $1"
    };
    c.execute(sql, &[&login, &hash])?;
    Ok(())
}

pub fn set_login_failures(c: &PgConn<'_>, login: &str, failed: i64, locked_until: i64) -> StoreResult<()> {
    c.execute(
        "UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1",
        &[&login, &failed, &locked_until],
    )?;
    Ok(())
}

pub fn claim_unknown_login(c: &PgConn<'_>, login: &str, at: i64, forget_before: i64) -> StoreResult<(i64, i64)> {
    c.execute("DELETE FROM unknown_logins WHERE locked_until < $1", &[&forget_before])?;
    let row = c
        .query_opt(
            "INSERT INTO unknown_logins AS u (login, failed, locked_until) VALUES ($1, 1, 0)
             ON CONFLICT (login) DO UPDATE SET
                 failed = CASE WHEN u.locked_until > $2 THEN u.failed ELSE u.failed + 1 END
             RETURNING failed, locked_until",
            &[&login, &at],
        )?
        .ok_or(crate::store::StoreError::Aborted)?;
    Ok((row.get(0), row.get(1)))
}

pub fn set_unknown_login_lock(c: &PgConn<'_>, login: &str, locked_until: i64) -> StoreResult<()> {
    c.execute("UPDATE unknown_logins SET locked_until = $2 WHERE login = $1", &[&login, &locked_until])?;
    Ok(())
}

pub fn set_disabled(c: &PgConn<'_>, login: &str, disabled: bool) -> StoreResult<()> {
    c.execute("UPDATE users SET disabled = $2 WHERE id = $1", &[&login, &disabled])?;
    Ok(())
}

pub fn insert_session(
    c: &PgConn<'_>,
    token_hash: &[u8],
    login: &str,
    device: &str,
    at: i64,
    expires_at: i64,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[&token_hash, &login, &device, &at, &expires_at],
    )?;
    Ok(())
}

pub fn delete_session(c: &PgConn<'_>, token_hash: &[u8]) -> StoreResult<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
    Ok(())
}

pub fn delete_sessions_of(c: &PgConn<'_>, login: &str, except: Option<&[u8]>) -> StoreResult<()> {
    c.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND ($2::BYTEA IS NULL OR token_hash <> $2)",
        &[&login, &except],
    )?;
    Ok(())
}

pub fn assign(c: &PgConn<'_>, id: &str, login: &str) -> StoreResult<bool> {
    let n = c.execute(
        "INSERT INTO assignments (household_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&id, &login],
    )?;
    Ok(n > 0)
}

pub fn unassign(c: &PgConn<'_>, id: &str, login: &str) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM assignments WHERE household_id = $1 AND user_id = $2", &[&id, &login])? > 0)
}

pub fn unassign_all(c: &PgConn<'_>, login: &str) -> StoreResult<usize> {
    Ok(c.execute("DELETE FROM assignments WHERE user_id = $1", &[&login])? as usize)
}

pub fn audit(c: &PgConn<'_>, at: i64, login: &str, action: &str, detail: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO audit_log (at, user_id, action, detail) VALUES ($1, $2, $3, $4)",
        &[&at, &login, &action, &detail],
    )?;
    Ok(())
}

pub fn grid_counts(c: &PgConn<'_>) -> StoreResult<Vec<AreaCount>> {
    let rows = c.query(
        "SELECT h.site, h.grid, COUNT(*),
                COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.household_id = h.id))
         FROM households h GROUP BY h.site, h.grid ORDER BY h.site COLLATE \"C\", h.grid COLLATE \"C\"",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| AreaCount { site: r.get(0), grid: r.get(1), households: r.get(2), unassigned: r.get(3) })
        .collect())
}

pub fn cadres_of(c: &PgConn<'_>, id: &str) -> StoreResult<Vec<Person>> {
    Ok(c.query(
        "SELECT u.id, u.name, u.phone FROM assignments a JOIN users u ON u.id = a.user_id
         WHERE a.household_id = $1 ORDER BY u.id COLLATE \"C\"",
        &[&id],
    )?
    .iter()
    .map(|r| Person { id: r.get(0), name: r.get(1), phone: r.get(2) })
    .collect())
}

pub fn assigned_rows(
    c: &PgConn<'_>,
    site: Option<&str>,
    grid: Option<&str>,
    cadre: Option<&str>,
) -> StoreResult<Vec<AssignedHousehold>> {
    let params: [&(dyn ToSql + Sync); 3] = [&site, &grid, &cadre];
    let rows = c.query(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, a.user_id
         FROM households h LEFT JOIN assignments a ON a.household_id = h.id
         WHERE ($1::TEXT IS NULL OR h.site = $1) AND ($2::TEXT IS NULL OR h.grid = $2)
           AND ($3::TEXT IS NULL OR h.id IN (SELECT household_id FROM assignments WHERE user_id = $3))
         ORDER BY h.site COLLATE \"C\", h.grid COLLATE \"C\", h.id COLLATE \"C\", a.user_id COLLATE \"C\"",
        &params,
    )?;
    let mut households: Vec<AssignedHousehold> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let id: String = r.get(0);
        let at = match index.get(&id) {
            Some(&i) => i,
            None => {
                households.push(AssignedHousehold {
                    id: id.clone(),
                    head_name: r.get(1),
                    township: r.get(2),
                    site: r.get(3),
                    grid: r.get(4),
                    address: r.get(5),
                    cadres: Vec::new(),
                });
                index.insert(id, households.len() - 1);
                households.len() - 1
            }
        };
        if let Some(c) = r.get::<_, Option<String>>(6) {
            households[at].cadres.push(c);
        }
    }
    Ok(households)
}
