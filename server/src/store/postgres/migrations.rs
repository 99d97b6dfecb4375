//! PostgreSQL's schema: append-only migrations, its own (the SQLite file's history does
//! not apply), recorded in `huhujian_schema`. Every server process runs them at start
//! under an advisory lock, so that processes starting together migrate once.
//!
//! The projections and the per-grid totals are the SQLite engine's, and kept the same
//! way: triggers drop a grid's kept totals in the transaction of any write to one of
//! its summaries, to its set of households or to their assignments. A summary's (and
//! an assignment's) trigger first takes its
//! grid's `areas` row `FOR SHARE` (merges do not wait for each other), and keeping a
//! total takes that row `FOR UPDATE` before adding up the grid's summaries (it waits
//! for the merges under way in the grid, and they for it): a total is never kept from
//! summaries a concurrent merge is replacing, and a merge after it drops it.

use tokio_postgres::Client;

use crate::store::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite file holds at its migration 6.
    r#"
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'cadre')),
        area_kind     TEXT CHECK (area_kind IN ('county', 'township', 'site')),
        area          TEXT,
        password_hash TEXT NOT NULL,
        failed_logins BIGINT NOT NULL DEFAULT 0,
        locked_until  BIGINT NOT NULL DEFAULT 0,
        created_at    BIGINT NOT NULL,
        disabled      BOOLEAN NOT NULL DEFAULT FALSE
    );

    CREATE TABLE sessions (
        token_hash BYTEA PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id  TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);

    CREATE TABLE households (
        id          TEXT PRIMARY KEY,
        doc         BYTEA NOT NULL,
        doc_changes BIGINT NOT NULL DEFAULT 0,
        heads       BYTEA,
        updated_at  BIGINT NOT NULL,
        county      TEXT NOT NULL DEFAULT '',
        township    TEXT NOT NULL DEFAULT '',
        site        TEXT NOT NULL DEFAULT '',
        grid        TEXT NOT NULL DEFAULT '',
        head_name   TEXT NOT NULL DEFAULT '',
        address     TEXT NOT NULL DEFAULT '',
        last_visit  TEXT,
        last_mode   TEXT,
        members     BIGINT NOT NULL DEFAULT 0,
        conflicts   BIGINT NOT NULL DEFAULT 0,
        problems    BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX households_area ON households(county, township, site, grid, id);
    CREATE INDEX households_conflicts ON households(conflicts) WHERE conflicts > 0;

    CREATE TABLE assignments (
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (household_id, user_id)
    );
    CREATE INDEX assignments_user ON assignments(user_id);

    CREATE TABLE summaries (
        household_id      TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        period            TEXT NOT NULL,
        visited_in_person BOOLEAN NOT NULL,
        zero_employment   BOOLEAN NOT NULL,
        low_income_labour BOOLEAN NOT NULL,
        guarantee_alert   BOOLEAN NOT NULL,
        new_risk          BOOLEAN NOT NULL,
        monitored         BOOLEAN NOT NULL,
        summary           BYTEA NOT NULL,
        review            TEXT,
        PRIMARY KEY (period, household_id)
    );
    CREATE INDEX summaries_household ON summaries(household_id);

    CREATE TABLE sync_states (
        device_id    TEXT NOT NULL,
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        state        BYTEA NOT NULL,
        PRIMARY KEY (device_id, household_id)
    );

    CREATE TABLE change_log (
        hash         BYTEA PRIMARY KEY,
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        uploaded_by  TEXT NOT NULL,
        device_id    TEXT NOT NULL,
        received_at  BIGINT NOT NULL
    );
    CREATE INDEX change_log_household ON change_log(household_id, received_at);

    CREATE TABLE audit_log (
        id      BIGSERIAL PRIMARY KEY,
        at      BIGINT NOT NULL,
        user_id TEXT NOT NULL,
        action  TEXT NOT NULL,
        detail  TEXT NOT NULL
    );

    CREATE TABLE areas (
        county     TEXT NOT NULL,
        township   TEXT NOT NULL,
        site       TEXT NOT NULL,
        grid       TEXT NOT NULL,
        households BIGINT NOT NULL,
        PRIMARY KEY (county, township, site, grid)
    );

    CREATE TABLE area_totals (
        county     TEXT NOT NULL,
        township   TEXT NOT NULL,
        site       TEXT NOT NULL,
        grid       TEXT NOT NULL,
        period     TEXT NOT NULL,
        indicators BYTEA NOT NULL,
        PRIMARY KEY (county, township, site, grid, period)
    );

    -- A grid's households change: count them, drop its kept totals (every period).
    CREATE FUNCTION hhj_grid_changed(c TEXT, t TEXT, s TEXT, g TEXT, delta BIGINT) RETURNS VOID AS $$
    BEGIN
        INSERT INTO areas (county, township, site, grid, households) VALUES (c, t, s, g, delta)
            ON CONFLICT (county, township, site, grid) DO UPDATE SET households = areas.households + delta;
        DELETE FROM area_totals WHERE county = c AND township = t AND site = s AND grid = g;
    END $$ LANGUAGE plpgsql;

    CREATE FUNCTION hhj_households_area() RETURNS TRIGGER AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM hhj_grid_changed(NEW.county, NEW.township, NEW.site, NEW.grid, 1);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM hhj_grid_changed(OLD.county, OLD.township, OLD.site, OLD.grid, -1);
        ELSIF (OLD.county, OLD.township, OLD.site, OLD.grid) IS DISTINCT FROM
              (NEW.county, NEW.township, NEW.site, NEW.grid) THEN
            PERFORM hhj_grid_changed(OLD.county, OLD.township, OLD.site, OLD.grid, -1);
            PERFORM hhj_grid_changed(NEW.county, NEW.township, NEW.site, NEW.grid, 1);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER households_area AFTER INSERT OR UPDATE OR DELETE ON households
        FOR EACH ROW EXECUTE FUNCTION hhj_households_area();

    -- A summary changes: share its grid's row (see the module's comment), drop the
    -- grid's kept total of that period.
    CREATE FUNCTION hhj_summary_changed(household TEXT, p TEXT) RETURNS VOID AS $$
    DECLARE
        a RECORD;
    BEGIN
        SELECT county, township, site, grid INTO a FROM households WHERE id = household;
        IF FOUND THEN
            PERFORM 1 FROM areas WHERE county = a.county AND township = a.township
                AND site = a.site AND grid = a.grid FOR SHARE;
            DELETE FROM area_totals WHERE county = a.county AND township = a.township
                AND site = a.site AND grid = a.grid AND period = p;
        END IF;
    END $$ LANGUAGE plpgsql;

    CREATE FUNCTION hhj_summaries_totals() RETURNS TRIGGER AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM hhj_summary_changed(OLD.household_id, OLD.period);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM hhj_summary_changed(NEW.household_id, NEW.period);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER summaries_totals AFTER INSERT OR UPDATE OR DELETE ON summaries
        FOR EACH ROW EXECUTE FUNCTION hhj_summaries_totals();
    "#,
    // 2: the SQLite file's migration 7: an administrator's rewrite of a household's
    // history (PROTOCOL.md §4.5).
    r#"
    ALTER TABLE households ADD COLUMN rewritten_at BIGINT;
    CREATE TABLE retired_docs (
        household_id TEXT NOT NULL REFERENCES households(id),
        retired_at   BIGINT NOT NULL,
        retired_by   TEXT NOT NULL,
        doc          BYTEA NOT NULL,
        hashes       BYTEA NOT NULL,
        PRIMARY KEY (household_id, retired_at)
    );
    "#,
    // 3: the SQLite file's migration 8: failed attempts at logins without an account.
    r#"
    CREATE TABLE unknown_logins (
        login        TEXT PRIMARY KEY,
        failed       BIGINT NOT NULL,
        locked_until BIGINT NOT NULL
    );
    CREATE INDEX unknown_logins_until ON unknown_logins(locked_until);
    "#,
    // 4: the SQLite file's migration 9: summaries and kept totals are recomputed (they
    // now carry the same month a year earlier, for 三个不减 like with like).
    r#"
    TRUNCATE area_totals, summaries;
    "#,
    // 5: the SQLite file's migration 10: phone health.
    r#"
    CREATE TABLE phones (
        user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device_id          TEXT NOT NULL,
        app_version        TEXT NOT NULL,
        unsynced           BIGINT NOT NULL,
        oldest_unsynced_at BIGINT,
        persisted          BOOLEAN,
        storage_used       BIGINT,
        storage_quota      BIGINT,
        reported_at        BIGINT NOT NULL,
        synced_at          BIGINT,
        PRIMARY KEY (user_id, device_id)
    );
    "#,
    // 6: the SQLite file's migration 11: monitoring settings by year; summaries and
    // kept totals recomputed (they carry the rolling income and the hardship flags).
    r#"
    CREATE TABLE settings (
        year                  BIGINT PRIMARY KEY,
        monitoring_line       BIGINT,
        low_income_target     BIGINT,
        expense_share_percent BIGINT,
        updated_by            TEXT NOT NULL,
        updated_at            BIGINT NOT NULL,
        baseline              TEXT
    );
    INSERT INTO settings VALUES (2020, NULL, 10000, NULL, 'migration', 0, NULL);
    TRUNCATE area_totals, summaries;
    "#,
    // 7: the SQLite file's migration 12: each household's case status, 八必访.
    r#"
    ALTER TABLE households ADD COLUMN case_status TEXT;
    CREATE INDEX households_case ON households(case_status) WHERE case_status IS NOT NULL;
    TRUNCATE area_totals, summaries;
    ALTER TABLE summaries ADD COLUMN must_visit BOOLEAN NOT NULL DEFAULT FALSE;
    "#,
    // 8: the SQLite file's migration 13: an account's phone number, the members' ID
    // numbers of each household.
    r#"
    ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    ALTER TABLE households ADD COLUMN id_numbers TEXT;
    "#,
    // 9: the SQLite file's migration 14: which kinds of evidence the county offers.
    r#"
    CREATE TABLE evidence_settings (
        id        BIGINT PRIMARY KEY CHECK (id = 1),
        photos    BOOLEAN NOT NULL,
        signature BOOLEAN NOT NULL,
        location  BOOLEAN NOT NULL
    );
    INSERT INTO evidence_settings VALUES (1, TRUE, TRUE, FALSE);
    "#,
    // 10: the SQLite file's migration 15: 户主签字确认 in the summaries (recomputed).
    r#"
    TRUNCATE area_totals, summaries;
    ALTER TABLE summaries ADD COLUMN signed BOOLEAN NOT NULL DEFAULT FALSE;
    "#,
    // 11: the SQLite file's migration 16: each kept grid total also keeps the grid's
    // coverage per cadre, and a change of a household's assignments drops its grid's
    // kept totals (every period), its `areas` row shared first as a summary's trigger
    // does.
    r#"
    TRUNCATE area_totals;
    ALTER TABLE area_totals ADD COLUMN cadres BYTEA;

    -- A household's summaries (of period p, or of every period when p is NULL) or its
    -- assignments change: share its grid's row, drop the grid's kept totals. One body
    -- for both; migration 1's function now hands its work here.
    CREATE FUNCTION hhj_household_changed(household TEXT, p TEXT) RETURNS VOID AS $$
    DECLARE
        a RECORD;
    BEGIN
        SELECT county, township, site, grid INTO a FROM households WHERE id = household;
        IF FOUND THEN
            PERFORM 1 FROM areas WHERE county = a.county AND township = a.township
                AND site = a.site AND grid = a.grid FOR SHARE;
            DELETE FROM area_totals WHERE county = a.county AND township = a.township
                AND site = a.site AND grid = a.grid AND (p IS NULL OR period = p);
        END IF;
    END $$ LANGUAGE plpgsql;
    CREATE OR REPLACE FUNCTION hhj_summary_changed(household TEXT, p TEXT) RETURNS VOID AS $$
    BEGIN
        PERFORM hhj_household_changed(household, p);
    END $$ LANGUAGE plpgsql;

    CREATE FUNCTION hhj_assignments_totals() RETURNS TRIGGER AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM hhj_household_changed(OLD.household_id, NULL);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM hhj_household_changed(NEW.household_id, NULL);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER assignments_totals AFTER INSERT OR UPDATE OR DELETE ON assignments
        FOR EACH ROW EXECUTE FUNCTION hhj_assignments_totals();
    "#,
    // 12: a household row's area is looked at only when it changed: the trigger's WHEN
    // decides without calling the function, where a merge updates every row it writes.
    // A document is stored out of line without PostgreSQL trying to compress it:
    // Automerge has compressed it already (BENCHMARKS.md).
    r#"
    ALTER TABLE households ALTER COLUMN doc SET STORAGE EXTERNAL;
    ALTER TABLE retired_docs ALTER COLUMN doc SET STORAGE EXTERNAL;
    DROP TRIGGER households_area ON households;
    CREATE TRIGGER households_area AFTER INSERT OR DELETE ON households
        FOR EACH ROW EXECUTE FUNCTION hhj_households_area();
    CREATE TRIGGER households_moved AFTER UPDATE ON households FOR EACH ROW
        WHEN ((OLD.county, OLD.township, OLD.site, OLD.grid) IS DISTINCT FROM
              (NEW.county, NEW.township, NEW.site, NEW.grid))
        EXECUTE FUNCTION hhj_households_area();
    "#,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Any key: the advisory lock every process takes to migrate.
const MIGRATION_LOCK: i64 = 0x0068_686a_5f6d_6967;

/// Brings the database up to [`SCHEMA_VERSION`], refusing a newer one.
pub async fn migrate(client: &mut Client) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(StoreError::engine)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(StoreError::engine)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS huhujian_schema (version BIGINT NOT NULL)")
        .await
        .map_err(StoreError::engine)?;
    let found: i64 = tx
        .query_opt("SELECT version FROM huhujian_schema", &[])
        .await
        .map_err(StoreError::engine)?
        .map_or(0, |r| r.get(0));
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { found, supported: SCHEMA_VERSION });
    }
    for sql in MIGRATIONS.iter().skip(found as usize) {
        tx.batch_execute(sql).await.map_err(StoreError::engine)?;
    }
    tx.execute("DELETE FROM huhujian_schema", &[]).await.map_err(StoreError::engine)?;
    tx.execute("INSERT INTO huhujian_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])
        .await
        .map_err(StoreError::engine)?;
    tx.commit().await.map_err(StoreError::engine)
}
