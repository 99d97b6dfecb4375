//! Accounts in SQLite: users, sessions and login throttling, which cadre visits which
//! household (`assignments`), and the audit log.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};
use shared::api::{Area, AreaCount, AssignedHousehold, Person, Role, User, UserRow};

use super::Conn;
use crate::store::{Credentials, NewAccount, StoreResult};

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    let kind: Option<String> = row.get("area_kind")?;
    let area: Option<String> = row.get("area")?;
    Ok(User {
        id: row.get("id")?,
        name: row.get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Cadre),
        area: kind.zip(area).and_then(|(k, a)| Area::from_parts(&k, &a)),
        phone: row.get("phone")?,
    })
}

fn area_columns(area: Option<&Area>) -> (Option<&'static str>, Option<&str>) {
    match area.map(Area::parts) {
        Some((kind, name)) => (Some(kind.code()), Some(name)),
        None => (None, None),
    }
}

pub fn user(conn: &Conn<'_>, login: &str) -> StoreResult<Option<User>> {
    Ok(conn
        .prepare_cached("SELECT id, name, role, area_kind, area, phone FROM users WHERE id = ?1")?
        .query_row([login], user_from_row)
        .optional()?)
}

pub fn session(conn: &Conn<'_>, token_hash: &[u8], at: i64) -> StoreResult<Option<(User, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.name, u.role, u.area_kind, u.area, u.phone, s.device_id FROM sessions s
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND u.disabled = 0 AND s.expires_at > ?2",
        )?
        .query_row(params![token_hash, at], |r| Ok((user_from_row(r)?, r.get::<_, String>("device_id")?)))
        .optional()?)
}

pub fn credentials(conn: &Conn<'_>, login: &str) -> StoreResult<Option<Credentials>> {
    Ok(conn
        .prepare_cached("SELECT password_hash, failed_logins, locked_until, disabled FROM users WHERE id = ?1")?
        .query_row([login], |r| {
            Ok(Credentials {
                password_hash: r.get(0)?,
                failed_logins: r.get(1)?,
                locked_until: r.get(2)?,
                disabled: r.get(3)?,
            })
        })
        .optional()?)
}

pub fn user_rows(conn: &Conn<'_>, login: Option<&str>, at: i64) -> StoreResult<Vec<UserRow>> {
    let sql = format!(
        "SELECT u.id, u.name, u.role, u.area_kind, u.area, u.failed_logins, u.locked_until, u.disabled, u.created_at,
                (SELECT COUNT(*) FROM assignments a WHERE a.user_id = u.id), u.phone
         FROM users u {}
         ORDER BY CASE u.role WHEN 'admin' THEN 0 WHEN 'supervisor' THEN 1 ELSE 2 END, u.id",
        if login.is_some() { "WHERE u.id = ?1" } else { "" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let map = |r: &rusqlite::Row<'_>| {
        let role: String = r.get(2)?;
        let kind: Option<String> = r.get(3)?;
        let area: Option<String> = r.get(4)?;
        let locked_until: i64 = r.get(6)?;
        Ok(UserRow {
            login: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Cadre),
            area: kind.zip(area).map(|(k, a)| format!("{k}:{a}")),
            failed_logins: r.get(5)?,
            locked_until: (locked_until > at).then_some(locked_until),
            disabled: r.get(7)?,
            created_at: r.get(8)?,
            assigned: r.get(9)?,
            phone: r.get(10)?,
        })
    };
    let rows = match login {
        Some(l) => stmt.query_map([l], map)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

pub fn logins_with_role(conn: &Conn<'_>, role: Role) -> StoreResult<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE role = ?1 ORDER BY id")?
        .query_map([role.code()], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

pub fn insert_user(conn: &Conn<'_>, account: &NewAccount<'_>) -> StoreResult<bool> {
    let user = account.user;
    let (kind, area) = area_columns(user.area.as_ref());
    let inserted = conn.execute(
        "INSERT INTO users (id, name, role, area_kind, area, password_hash, created_at, phone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING",
        params![
            user.id,
            user.name,
            user.role.code(),
            kind,
            area,
            account.password_hash,
            account.created_at,
            user.phone
        ],
    )?;
    Ok(inserted > 0)
}

pub fn set_user(conn: &Conn<'_>, user: &User) -> StoreResult<()> {
    let (kind, area) = area_columns(user.area.as_ref());
    conn.execute(
        "UPDATE users SET name = ?2, role = ?3, area_kind = ?4, area = ?5, phone = ?6 WHERE id = ?1",
        params![user.id, user.name, user.role.code(), kind, area, user.phone],
    )?;
    Ok(())
}

pub fn set_password_hash(conn: &Conn<'_>, login: &str, hash: &str, clear_throttle: bool) -> StoreResult<()> {
    let sql = if clear_throttle {
        "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = 0 WHERE id = ?1"
    } else {
        "UPDATE users SET password_hash = ?2 WHERE id = ?1"
    };
    conn.execute(sql, params![login, hash])?;
    Ok(())
}

pub fn set_login_failures(conn: &Conn<'_>, login: &str, failed: i64, locked_until: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE users SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1")?.execute(params![
        login,
        failed,
        locked_until
    ])?;
    Ok(())
}

pub fn claim_unknown_login(conn: &Conn<'_>, login: &str, at: i64, forget_before: i64) -> StoreResult<(i64, i64)> {
    conn.prepare_cached("DELETE FROM unknown_logins WHERE locked_until < ?1")?.execute([forget_before])?;
    Ok(conn
        .prepare_cached(
            "INSERT INTO unknown_logins (login, failed, locked_until) VALUES (?1, 1, 0)
             ON CONFLICT(login) DO UPDATE SET
                 failed = CASE WHEN locked_until > ?2 THEN failed ELSE failed + 1 END
             RETURNING failed, locked_until",
        )?
        .query_row(params![login, at], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn set_unknown_login_lock(conn: &Conn<'_>, login: &str, locked_until: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE unknown_logins SET locked_until = ?2 WHERE login = ?1")?
        .execute(params![login, locked_until])?;
    Ok(())
}

pub fn set_disabled(conn: &Conn<'_>, login: &str, disabled: bool) -> StoreResult<()> {
    conn.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![login, disabled])?;
    Ok(())
}

pub fn insert_session(
    conn: &Conn<'_>,
    token_hash: &[u8],
    login: &str,
    device: &str,
    at: i64,
    expires_at: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![token_hash, login, device, at, expires_at])?;
    Ok(())
}

pub fn delete_session(conn: &Conn<'_>, token_hash: &[u8]) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

pub fn delete_sessions_of(conn: &Conn<'_>, login: &str, except: Option<&[u8]>) -> StoreResult<()> {
    match except {
        Some(keep) => {
            conn.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2", params![login, keep])?
        }
        None => conn.execute("DELETE FROM sessions WHERE user_id = ?1", [login])?,
    };
    Ok(())
}

pub fn assign(conn: &Conn<'_>, id: &str, login: &str) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO assignments (household_id, user_id) VALUES (?1, ?2)")?
        .execute(params![id, login])?;
    Ok(n > 0)
}

pub fn unassign(conn: &Conn<'_>, id: &str, login: &str) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("DELETE FROM assignments WHERE household_id = ?1 AND user_id = ?2")?
        .execute(params![id, login])?;
    Ok(n > 0)
}

pub fn unassign_all(conn: &Conn<'_>, login: &str) -> StoreResult<usize> {
    Ok(conn.execute("DELETE FROM assignments WHERE user_id = ?1", [login])?)
}

pub fn audit(conn: &Conn<'_>, at: i64, login: &str, action: &str, detail: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?1, ?2, ?3, ?4)",
        params![at, login, action, detail],
    )?;
    Ok(())
}

pub fn grid_counts(conn: &Conn<'_>) -> StoreResult<Vec<AreaCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.site, h.grid, COUNT(*),
                SUM(NOT EXISTS (SELECT 1 FROM assignments a WHERE a.household_id = h.id))
         FROM households h GROUP BY h.site, h.grid ORDER BY h.site, h.grid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AreaCount { site: r.get(0)?, grid: r.get(1)?, households: r.get(2)?, unassigned: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn cadres_of(conn: &Conn<'_>, id: &str) -> StoreResult<Vec<Person>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.name, u.phone FROM assignments a JOIN users u ON u.id = a.user_id
             WHERE a.household_id = ?1 ORDER BY u.id",
        )?
        .query_map([id], |r| Ok(Person { id: r.get(0)?, name: r.get(1)?, phone: r.get(2)? }))?
        .collect::<Result<_, _>>()?)
}

pub fn assigned_rows(
    conn: &Conn<'_>,
    site: Option<&str>,
    grid: Option<&str>,
    cadre: Option<&str>,
) -> StoreResult<Vec<AssignedHousehold>> {
    let mut clause = String::from("1 = 1");
    let mut args: Vec<Value> = Vec::new();
    for (column, value) in [("site", site), ("grid", grid)] {
        if let Some(v) = value {
            clause.push_str(&format!(" AND h.{column} = ?"));
            args.push(Value::Text(v.to_owned()));
        }
    }
    if let Some(c) = cadre {
        clause.push_str(" AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)");
        args.push(Value::Text(c.to_owned()));
    }
    let sql = format!(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, a.user_id
         FROM households h LEFT JOIN assignments a ON a.household_id = h.id
         WHERE {clause} ORDER BY h.site, h.grid, h.id, a.user_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    let mut households: Vec<AssignedHousehold> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let cadre: Option<String> = r.get(6)?;
        let at = match index.get(&id) {
            Some(&i) => i,
            None => {
                households.push(AssignedHousehold {
                    id: id.clone(),
                    head_name: r.get(1)?,
                    township: r.get(2)?,
                    site: r.get(3)?,
                    grid: r.get(4)?,
                    address: r.get(5)?,
                    cadres: Vec::new(),
                });
                index.insert(id, households.len() - 1);
                households.len() - 1
            }
        };
        if let Some(c) = cadre {
            households[at].cadres.push(c);
        }
    }
    Ok(households)
}
