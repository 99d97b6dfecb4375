//! Append-only schema migrations. Never edit one that has shipped: add a new one.
//! Each runs in its own transaction and bumps `PRAGMA user_version`.

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    // 1: accounts, households with their projection, assignments, sync state, change log.
    r#"
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,          -- login (账号)
        name          TEXT NOT NULL,             -- display name (姓名)
        role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'cadre')),
        area_kind     TEXT CHECK (area_kind IN ('county', 'township', 'site')),
        area          TEXT,
        password_hash TEXT NOT NULL,             -- argon2id PHC string
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until  INTEGER NOT NULL DEFAULT 0, -- unix seconds
        created_at    INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,             -- sha256 of the bearer token
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id  TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX sessions_user ON sessions(user_id);

    CREATE TABLE households (
        id          TEXT PRIMARY KEY,            -- 户编码 = document id
        doc         BLOB NOT NULL,               -- Automerge save()
        updated_at  INTEGER NOT NULL,
        county      TEXT NOT NULL DEFAULT '',
        township    TEXT NOT NULL DEFAULT '',
        site        TEXT NOT NULL DEFAULT '',
        grid        TEXT NOT NULL DEFAULT '',
        head_name   TEXT NOT NULL DEFAULT '',
        address     TEXT NOT NULL DEFAULT '',
        last_visit  TEXT,
        last_mode   TEXT,
        members     INTEGER NOT NULL DEFAULT 0,
        conflicts   INTEGER NOT NULL DEFAULT 0,
        problems    INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX households_area ON households(county, township, site, grid);
    CREATE INDEX households_conflicts ON households(conflicts) WHERE conflicts > 0;

    CREATE TABLE assignments (
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (household_id, user_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX assignments_user ON assignments(user_id);

    -- One household's indicator summary for one period (shared::indicators::Summary,
    -- postcard-encoded), with the columns lists filter on.
    CREATE TABLE summaries (
        household_id      TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        period            TEXT NOT NULL,
        visited_in_person INTEGER NOT NULL,
        zero_employment   INTEGER NOT NULL,
        low_income_labour INTEGER NOT NULL,
        guarantee_alert   INTEGER NOT NULL,
        new_risk          INTEGER NOT NULL,
        monitored         INTEGER NOT NULL,
        summary           BLOB NOT NULL,
        PRIMARY KEY (period, household_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE sync_states (
        device_id    TEXT NOT NULL,
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        state        BLOB NOT NULL,              -- automerge sync::State::encode()
        PRIMARY KEY (device_id, household_id)
    ) STRICT, WITHOUT ROWID;

    -- Who uploaded each change: the authenticated user and device, not the claim
    -- inside the change.
    CREATE TABLE change_log (
        hash         BLOB PRIMARY KEY,
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        uploaded_by  TEXT NOT NULL,
        device_id    TEXT NOT NULL,
        received_at  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX change_log_household ON change_log(household_id, received_at);

    CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY,
        at      INTEGER NOT NULL,
        user_id TEXT NOT NULL,
        action  TEXT NOT NULL,
        detail  TEXT NOT NULL
    ) STRICT;
    "#,
    // 2: the review status (审核) of each period's visit, for the review queue. Summaries
    // are projections: dropping them makes the server recompute them, with the column.
    r#"
    DELETE FROM summaries;
    ALTER TABLE summaries ADD COLUMN review TEXT;
    "#,
    // 3: an admin can disable an account: its login is refused and its sessions end.
    r#"
    ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
    "#,
    // 4: dashboards over a county. `areas` counts the households of each grid;
    // `area_totals` caches, per grid and period, the indicators its summaries add up to
    // (postcard-encoded `shared::indicators::Indicators`), filled by the first read
    // (`reads::area_totals`). The triggers keep both right in the transaction of every
    // write: a grid's cached totals go as soon as one of its summaries, or the set of its
    // households, changes. The area index gains the id, so a grid's households are
    // listed without reading their documents.
    r#"
    CREATE TABLE areas (
        county     TEXT NOT NULL,
        township   TEXT NOT NULL,
        site       TEXT NOT NULL,
        grid       TEXT NOT NULL,
        households INTEGER NOT NULL,
        PRIMARY KEY (county, township, site, grid)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO areas (county, township, site, grid, households)
        SELECT county, township, site, grid, COUNT(*) FROM households GROUP BY county, township, site, grid;

    CREATE TABLE area_totals (
        county     TEXT NOT NULL,
        township   TEXT NOT NULL,
        site       TEXT NOT NULL,
        grid       TEXT NOT NULL,
        period     TEXT NOT NULL,
        indicators BLOB NOT NULL,
        PRIMARY KEY (county, township, site, grid, period)
    ) STRICT, WITHOUT ROWID;

    DROP INDEX households_area;
    CREATE INDEX households_area ON households(county, township, site, grid, id);

    CREATE TRIGGER households_area_insert AFTER INSERT ON households BEGIN
        INSERT INTO areas (county, township, site, grid, households)
            VALUES (NEW.county, NEW.township, NEW.site, NEW.grid, 1)
            ON CONFLICT DO UPDATE SET households = households + 1;
        DELETE FROM area_totals
            WHERE county = NEW.county AND township = NEW.township AND site = NEW.site AND grid = NEW.grid;
    END;
    CREATE TRIGGER households_area_delete AFTER DELETE ON households BEGIN
        UPDATE areas SET households = households - 1
            WHERE county = OLD.county AND township = OLD.township AND site = OLD.site AND grid = OLD.grid;
        DELETE FROM area_totals
            WHERE county = OLD.county AND township = OLD.township AND site = OLD.site AND grid = OLD.grid;
    END;
    CREATE TRIGGER households_area_update AFTER UPDATE OF county, township, site, grid ON households
    WHEN OLD.county <> NEW.county OR OLD.township <> NEW.township OR OLD.site <> NEW.site OR OLD.grid <> NEW.grid
    BEGIN
        UPDATE areas SET households = households - 1
            WHERE county = OLD.county AND township = OLD.township AND site = OLD.site AND grid = OLD.grid;
        INSERT INTO areas (county, township, site, grid, households)
            VALUES (NEW.county, NEW.township, NEW.site, NEW.grid, 1)
            ON CONFLICT DO UPDATE SET households = households + 1;
        DELETE FROM area_totals
            WHERE county = OLD.county AND township = OLD.township AND site = OLD.site AND grid = OLD.grid;
        DELETE FROM area_totals
            WHERE county = NEW.county AND township = NEW.township AND site = NEW.site AND grid = NEW.grid;
    END;

    CREATE TRIGGER summaries_totals_insert AFTER INSERT ON summaries BEGIN
        DELETE FROM area_totals WHERE period = NEW.period AND (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = NEW.household_id);
    END;
    CREATE TRIGGER summaries_totals_delete AFTER DELETE ON summaries BEGIN
        DELETE FROM area_totals WHERE period = OLD.period AND (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = OLD.household_id);
    END;
    CREATE TRIGGER summaries_totals_update AFTER UPDATE ON summaries BEGIN
        DELETE FROM area_totals WHERE period = OLD.period AND (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = OLD.household_id);
        DELETE FROM area_totals WHERE period = NEW.period AND (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = NEW.household_id);
    END;
    "#,
    // 5: faster merges (issue 7).
    // - One household's summaries without scanning every household's: each write of a
    //   document reads its rows back (`store::sqlite::docs`), and deleting a household
    //   cascades to them; the primary key leads with the period, so both read the whole
    //   table (half the merge time at 504 households).
    // - `doc` may be the document saved whole followed by change chunks appended by
    //   merges (`store::projection::merged_bytes`); `doc_changes` counts those chunks, and the
    //   document is saved whole again when they reach `store::projection::COMPACT_AFTER`.
    r#"
    CREATE INDEX summaries_household ON summaries(household_id);
    ALTER TABLE households ADD COLUMN doc_changes INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: the heads of each stored document (its change hashes, 32 bytes each, sorted),
    // written with it (`store::sqlite::docs`): a phone's sync that brings nothing and names
    // these heads is answered "in sync" without loading the document. NULL until the
    // document is next written; then the document is loaded as before.
    r#"
    ALTER TABLE households ADD COLUMN heads BLOB;
    "#,
    // 7: an administrator's rewrite of a household's history (PROTOCOL.md §4.5): the
    // retired document is kept whole with its change hashes, and the household marked,
    // so that a phone whose message names a retired change is told to replace its copy.
    r#"
    ALTER TABLE households ADD COLUMN rewritten_at INTEGER;
    CREATE TABLE retired_docs (
        household_id TEXT NOT NULL REFERENCES households(id),
        retired_at   INTEGER NOT NULL,
        retired_by   TEXT NOT NULL,
        doc          BLOB NOT NULL,
        hashes       BLOB NOT NULL,               -- its change hashes, 32 bytes each
        PRIMARY KEY (household_id, retired_at)
    );
    "#,
    // 8: failed attempts at logins without an account, counted like an account's
    // (`auth::claim_attempt`), in the database so that every server process counts the
    // same (they were in each process's memory).
    r#"
    -- `locked_until`: the lock's end, or the last failure's time; rows a day past it
    -- are forgotten (`auth::FAILURES_FORGOTTEN_AFTER`), as an account's count is.
    CREATE TABLE unknown_logins (
        login        TEXT PRIMARY KEY,
        failed       INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
    );
    CREATE INDEX unknown_logins_until ON unknown_logins(locked_until);
    "#,
    // 9: summaries carry the same month a year earlier (三个不减 like with like) and
    // kept totals their sums: both are projections, recomputed when next read.
    r#"
    DELETE FROM area_totals;
    DELETE FROM summaries;
    "#,
    // 10: phone health (issue 19): the latest report of each cadre's phone.
    r#"
    CREATE TABLE phones (
        user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id          TEXT NOT NULL,
        app_version        TEXT NOT NULL,
        unsynced           INTEGER NOT NULL,
        oldest_unsynced_at INTEGER,
        persisted          INTEGER,
        storage_used       INTEGER,
        storage_quota      INTEGER,
        reported_at        INTEGER NOT NULL,
        synced_at          INTEGER,
        PRIMARY KEY (user_id, device_id)
    );
    "#,
    // 11: monitoring settings by year (issue 18): the province's monitoring line, the
    // county's low-income target (seed 000's 10,000 yuan from 2020, what the indicator
    // used before it was a setting) and the share of income that makes expenses large.
    // Summaries now carry the rolling income and the hardship flags: recomputed.
    r#"
    CREATE TABLE settings (
        year                  INTEGER PRIMARY KEY,
        monitoring_line       INTEGER,
        low_income_target     INTEGER,
        expense_share_percent INTEGER,
        updated_by            TEXT NOT NULL,
        updated_at            INTEGER NOT NULL,
        baseline              TEXT
    ) STRICT;
    INSERT INTO settings VALUES (2020, NULL, 10000, NULL, 'migration', 0, NULL);
    DELETE FROM area_totals;
    DELETE FROM summaries;
    "#,
    // 12: the status of each household's monitoring case (监测状态), for the case queue
    // (documents written before hold no case: NULL is what they say), and 八必访 in the
    // summaries (recomputed).
    r#"
    ALTER TABLE households ADD COLUMN case_status TEXT;
    CREATE INDEX households_case ON households(case_status) WHERE case_status IS NOT NULL;
    DELETE FROM area_totals;
    DELETE FROM summaries;
    ALTER TABLE summaries ADD COLUMN must_visit INTEGER NOT NULL DEFAULT 0;
    "#,
    // 13: an account's phone number (联系电话), printed on 明白卡 for its cadre; each
    // household's members' ID numbers, for department lists (NULL until the household
    // is next written: such a row's document is read instead).
    r#"
    ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    ALTER TABLE households ADD COLUMN id_numbers TEXT;
    "#,
    // 14: which kinds of evidence (佐证: photos, the household's sign-off, a location
    // fix) the county offers its cadres; one row.
    r#"
    CREATE TABLE evidence_settings (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        photos    INTEGER NOT NULL,
        signature INTEGER NOT NULL,
        location  INTEGER NOT NULL
    ) STRICT;
    INSERT INTO evidence_settings VALUES (1, 1, 1, 0);
    "#,
    // 15: 户主签字确认 in the summaries (recomputed), for coverage's signed count and
    // the list of households visited but not signed.
    r#"
    DELETE FROM area_totals;
    DELETE FROM summaries;
    ALTER TABLE summaries ADD COLUMN signed INTEGER NOT NULL DEFAULT 0;
    "#,
    // 16: coverage by cadre from the kept grid totals: each grid's row also keeps its
    // coverage per cadre (`store::totals::CadreCount`s, postcard), so a county's
    // coverage by cadre adds up its grids instead of every household. A change of a
    // household's assignments deletes its grid's kept totals, as a change of its
    // summaries does (assignments deleted with a household or a user fire these too).
    r#"
    DELETE FROM area_totals;
    ALTER TABLE area_totals ADD COLUMN cadres BLOB;
    CREATE TRIGGER assignments_totals_insert AFTER INSERT ON assignments BEGIN
        DELETE FROM area_totals WHERE (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = NEW.household_id);
    END;
    CREATE TRIGGER assignments_totals_delete AFTER DELETE ON assignments BEGIN
        DELETE FROM area_totals WHERE (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = OLD.household_id);
    END;
    CREATE TRIGGER assignments_totals_update AFTER UPDATE ON assignments BEGIN
        DELETE FROM area_totals WHERE (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = OLD.household_id);
        DELETE FROM area_totals WHERE (county, township, site, grid) IN
            (SELECT county, township, site, grid FROM households WHERE id = NEW.household_id);
    END;
    "#,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` up to [`SCHEMA_VERSION`], refusing a newer file.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { found, supported: SCHEMA_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_migrated_and_a_newer_one_refused() {
        let dir = std::env::temp_dir().join(format!("hhj-mig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite3");
        let _ = std::fs::remove_file(&path);
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn).unwrap();
            migrate(&mut conn).unwrap(); // idempotent
            let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
            assert_eq!(v, SCHEMA_VERSION);
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        let err = super::super::Sqlite::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer than this program"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
