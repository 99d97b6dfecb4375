//! A bounded load test: a township's phones all syncing at once after a meeting. Each
//! phone logs in (before the clock starts: phones keep their session for 30 days),
//! downloads its households, records this month's visit in each, and uploads it. The
//! test suite runs it small (`tests/it/load.rs`); `cargo xtask load` runs it full size
//! against a release server in its own process and reports latencies and memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::{EmploymentStatus, Stamp, VisitMode};
use tokio::sync::Barrier;

use crate::Phone;

/// How big a load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Phones (cadres) syncing at once.
    pub phones: usize,
    /// Households each phone holds.
    pub households: usize,
}

impl Load {
    /// The cadre logins, `load0001`….
    pub fn logins(&self) -> Vec<String> {
        (1..=self.phones).map(|i| format!("load{i:04}")).collect()
    }

    /// Household ids of phone `i` (0-based).
    pub fn household_ids(&self, phone: usize) -> Vec<String> {
        (0..self.households).map(|j| format!("L{phone:04}{j:03}")).collect()
    }

    /// A roster CSV: every phone's households, two members each, assigned to it.
    pub fn roster(&self) -> String {
        let mut csv = String::from(
            "户编码,县,乡镇,安置点,网格,住址,户类型,帮扶干部,成员编号,姓名,性别,出生日期,与户主关系,劳动能力\n",
        );
        for (i, login) in self.logins().iter().enumerate() {
            for id in self.household_ids(i) {
                let site = format!("安置点{}", i % 3);
                let grid = format!("网格{}", i % 12);
                for (m, name, sex, birth, rel) in
                    [("a", "李国华", "男", "1980-05-01", "户主"), ("b", "王春兰", "女", "1982-03-02", "配偶")]
                {
                    csv.push_str(&format!(
                        "{id},云岭县,栋川镇,{site},{grid},{id}室,脱贫户,{login},{m},{name},{sex},{birth},{rel},普通劳动力\n"
                    ));
                }
            }
        }
        csv
    }
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Phones that took part.
    pub phones: usize,
    /// Households synced.
    pub households: usize,
    /// Sync requests made.
    pub requests: usize,
    /// Failures (a phone stops at its first).
    pub errors: Vec<String>,
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// From the barrier to the last phone done.
    pub wall: Duration,
    /// Bytes sent and received (gzip).
    pub bytes: (usize, usize),
    /// Documents the server refused.
    pub refused: usize,
}

impl LoadReport {
    /// The `p`-th percentile latency (0–100).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank.min(self.latencies.len() - 1)]
    }

    /// One line for logs.
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "{} phones × {} households: {} requests, {} errors, {} refused, p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms, wall {:.1} s, {} KB sent (gzip)",
            self.phones,
            self.households / self.phones.max(1),
            self.requests,
            self.errors.len(),
            self.refused,
            ms(self.percentile(50.0)),
            ms(self.percentile(95.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.wall.as_secs_f64(),
            self.bytes.0 / 1024,
        )
    }
}

/// Runs `load` against the server at `base` (already seeded with [`Load::roster`] and
/// the [`Load::logins`] with password [`crate::PASSWORD`]), recording `period`'s visit.
pub async fn run(base: &str, load: Load, period: &str) -> LoadReport {
    let mut phones = Vec::new();
    let mut report = LoadReport { phones: load.phones, ..LoadReport::default() };
    for (i, login) in load.logins().iter().enumerate() {
        match Phone::login_at(base, login, &format!("load-{i}")).await {
            Ok(mut phone) => {
                let ids = load.household_ids(i);
                phone.want(&ids.iter().map(String::as_str).collect::<Vec<_>>());
                phones.push(phone);
            }
            Err(e) => report.errors.push(e),
        }
    }
    let barrier = Arc::new(Barrier::new(phones.len() + 1));
    let tasks: Vec<_> = phones
        .into_iter()
        .enumerate()
        .map(|(i, mut phone)| {
            let barrier = barrier.clone();
            let period = period.to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut done = Vec::new();
                let first = phone.try_sync().await?;
                done.push(first);
                let stamp = Stamp::new(format!("load{:04}", i + 1), "干部", 1_795_000_000);
                for doc in phone.docs.values_mut() {
                    doc.edit(&stamp, |h| {
                        let v = h.visits.entry(period.clone()).or_default();
                        v.mode = Some(VisitMode::InPerson);
                        v.employment.entry("a".into()).or_default().status = Some(EmploymentStatus::Employed);
                        v.income.wage = Some(3000 + i as i64);
                    })
                    .map_err(|e| e.to_string())?;
                }
                done.push(phone.try_sync().await?);
                Ok::<_, String>((done, phone.docs.len()))
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    for task in tasks {
        match task.await {
            Ok(Ok((syncs, docs))) => {
                report.households += docs;
                for s in syncs {
                    report.requests += s.round_trips;
                    report.bytes.0 += s.sent;
                    report.bytes.1 += s.received;
                    report.refused += s.refused.len();
                    report.latencies.extend(s.latencies);
                }
            }
            Ok(Err(e)) => report.errors.push(e),
            Err(e) => report.errors.push(format!("phone task failed: {e}")),
        }
    }
    report.wall = started.elapsed();
    report.latencies.sort();
    report
}
