//! Phone health (手机状态): what a phone reports about itself at each sync
//! (`POST /api/phone`), and what the console shows per cadre (`GET /api/phones`), with
//! the rule that puts the phones needing a supervisor's attention first. Plain data and
//! rules, no IO; the phone's own 本机状态 screen shows the same figures.

use crate::{Date, Period};

/// Work older than this on a phone needs a supervisor's attention (seconds): 3 days.
pub const OLD_WORK_SECONDS: i64 = 3 * 24 * 3600;

/// Storage used beyond this share of the quota is at risk.
pub const STORAGE_NEARLY_FULL: f64 = 0.8;

/// `POST /api/phone`: the phone's state as it starts a sync, and again when a sync
/// has finished.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct PhoneReport {
    /// The app's version.
    pub app_version: String,
    /// Households with edits the server has not confirmed.
    pub unsynced: u32,
    /// When the oldest of those edits was made (Unix seconds, the phone's clock).
    pub oldest_unsynced_at: Option<i64>,
    /// Whether the browser granted persistent storage (`navigator.storage.persisted()`);
    /// `null` when it cannot say.
    pub persisted: Option<bool>,
    /// Bytes the app stores (`navigator.storage.estimate().usage`).
    pub storage_used: Option<u64>,
    /// Bytes it may store (`estimate().quota`).
    pub storage_quota: Option<u64>,
    /// `true` when sent after a sync that completed.
    pub synced: bool,
}

/// Why a phone needs attention, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Concern {
    /// 有超过 3 天未同步的记录: edits older than [`OLD_WORK_SECONDS`] sit on the phone.
    OldWork,
    /// 本月未同步: no completed sync this month.
    NotSyncedThisMonth,
    /// 存储可能被清除: the browser may evict the app's data.
    StorageNotPersistent,
    /// 存储将满: used beyond [`STORAGE_NEARLY_FULL`] of the quota.
    StorageNearlyFull,
    /// 有未同步的记录: edits not yet on the server (younger than 3 days).
    Unsynced,
}

impl Concern {
    /// 中文.
    pub fn zh(self) -> &'static str {
        match self {
            Concern::OldWork => "有超过 3 天未同步的记录",
            Concern::NotSyncedThisMonth => "本月未同步",
            Concern::StorageNotPersistent => "存储可能被浏览器清除",
            Concern::StorageNearlyFull => "存储将满",
            Concern::Unsynced => "有未同步的记录",
        }
    }
    /// English.
    pub fn en(self) -> &'static str {
        match self {
            Concern::OldWork => "work older than 3 days not synced",
            Concern::NotSyncedThisMonth => "no sync this month",
            Concern::StorageNotPersistent => "storage may be cleared by the browser",
            Concern::StorageNearlyFull => "storage nearly full",
            Concern::Unsynced => "unsynced work",
        }
    }
}

/// `GET /api/phones`: one cadre's phone (a cadre with two phones has two rows; one
/// who never synced has one row without a device).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct PhoneRow {
    /// The cadre's login.
    pub login: String,
    /// The cadre's name.
    pub name: String,
    /// The phone's device id; `null`: no phone has reported.
    pub device: Option<String>,
    /// The app's version on it.
    pub app_version: Option<String>,
    /// The last report (Unix seconds, the server's clock).
    pub reported_at: Option<i64>,
    /// The last completed sync (Unix seconds, the server's clock).
    pub synced_at: Option<i64>,
    /// Households with unsynced edits at the last report.
    pub unsynced: u32,
    /// The oldest unsynced edit then (Unix seconds, the phone's clock).
    pub oldest_unsynced_at: Option<i64>,
    /// Persistent storage granted.
    pub persisted: Option<bool>,
    /// Bytes stored.
    pub storage_used: Option<u64>,
    /// Bytes allowed.
    pub storage_quota: Option<u64>,
    /// Why it needs attention, most pressing first (empty: all well).
    pub concerns: Vec<Concern>,
}

impl PhoneRow {
    /// What needs attention about this phone at `now`: an unsynced edit older than 3
    /// days, no completed sync in this month (China time), storage the browser may
    /// clear or nearly full, unsynced work at all.
    pub fn concerns_at(&self, now: i64) -> Vec<Concern> {
        let mut out = Vec::new();
        let unsynced = self.unsynced > 0;
        if unsynced && self.oldest_unsynced_at.is_some_and(|at| now.saturating_sub(at) > OLD_WORK_SECONDS) {
            out.push(Concern::OldWork);
        }
        let this_month = Period::of(Date::in_china(now));
        if self.synced_at.is_none_or(|at| Period::of(Date::in_china(at)) != this_month) {
            out.push(Concern::NotSyncedThisMonth);
        }
        if self.persisted == Some(false) {
            out.push(Concern::StorageNotPersistent);
        }
        if let (Some(used), Some(quota)) = (self.storage_used, self.storage_quota)
            && quota > 0
            && used as f64 > STORAGE_NEARLY_FULL * quota as f64
        {
            out.push(Concern::StorageNearlyFull);
        }
        if unsynced && !out.contains(&Concern::OldWork) {
            out.push(Concern::Unsynced);
        }
        out
    }
}

/// Fills each row's concerns at `now` and orders the rows as the console shows them:
/// phones with old work or no sync this month first, then other concerns; within each,
/// more unsynced households first, then the oldest work, then the longest without a
/// sync. Cadres no phone has reported for come last (no phone can hold their work).
pub fn order(rows: &mut [PhoneRow], now: i64) {
    for row in rows.iter_mut() {
        row.concerns = row.concerns_at(now);
    }
    let urgent = |r: &PhoneRow| r.concerns.iter().any(|c| matches!(c, Concern::OldWork | Concern::NotSyncedThisMonth));
    rows.sort_by(|a, b| {
        (a.device.is_none(), !urgent(a), a.concerns.is_empty(), std::cmp::Reverse(a.unsynced))
            .cmp(&(b.device.is_none(), !urgent(b), b.concerns.is_empty(), std::cmp::Reverse(b.unsynced)))
            .then(a.oldest_unsynced_at.unwrap_or(i64::MAX).cmp(&b.oldest_unsynced_at.unwrap_or(i64::MAX)))
            .then(a.synced_at.unwrap_or(0).cmp(&b.synced_at.unwrap_or(0)))
            .then(a.login.cmp(&b.login))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000; // 2026-11-30 in China
    const DAY: i64 = 24 * 3600;

    fn row(login: &str, synced_ago: Option<i64>, unsynced: u32, oldest_ago: Option<i64>) -> PhoneRow {
        PhoneRow {
            login: login.into(),
            name: login.into(),
            device: Some(format!("{login}-phone")),
            app_version: Some("0.1.0".into()),
            reported_at: synced_ago.map(|a| NOW - a),
            synced_at: synced_ago.map(|a| NOW - a),
            unsynced,
            oldest_unsynced_at: oldest_ago.map(|a| NOW - a),
            persisted: Some(true),
            storage_used: Some(1 << 20),
            storage_quota: Some(1 << 30),
            concerns: Vec::new(),
        }
    }

    #[test]
    fn old_work_and_no_sync_this_month_come_first_and_phoneless_cadres_last() {
        let mut rows = vec![
            row("well", Some(3600), 0, None),
            PhoneRow { device: None, app_version: None, ..row("never", None, 0, None) },
            row("fresh_work", Some(60), 2, Some(600)),
            row("old_work", Some(60), 1, Some(4 * DAY)),
            row("stale", Some(40 * DAY), 0, None),
            PhoneRow { persisted: Some(false), ..row("evictable", Some(60), 0, None) },
        ];
        order(&mut rows, NOW);
        let logins: Vec<&str> = rows.iter().map(|r| r.login.as_str()).collect();
        assert_eq!(logins, ["old_work", "stale", "fresh_work", "evictable", "well", "never"]);
        assert_eq!(rows[0].concerns, [Concern::OldWork]);
        assert_eq!(rows[1].concerns, [Concern::NotSyncedThisMonth]);
        assert_eq!(rows[2].concerns, [Concern::Unsynced]);
        assert_eq!(rows[3].concerns, [Concern::StorageNotPersistent]);
        assert!(rows[4].concerns.is_empty());
        assert_eq!(rows[5].concerns, [Concern::NotSyncedThisMonth]);
    }

    #[test]
    fn storage_beyond_four_fifths_of_the_quota_is_at_risk() {
        let full = PhoneRow { storage_used: Some(900), storage_quota: Some(1000), ..row("a", Some(60), 0, None) };
        assert_eq!(full.concerns_at(NOW), [Concern::StorageNearlyFull]);
        let unknown = PhoneRow { storage_used: None, ..full };
        assert!(unknown.concerns_at(NOW).is_empty());
    }
}
