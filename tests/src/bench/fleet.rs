//! Phones of the seeded county's cadre, for the benchmarks that run many at once
//! (`concurrent`, `hostile`): download, one round of edits synced all at once, and
//! percentiles of what they measured.

use std::time::Duration;

use shared::Stamp;

use super::sync::{CADRE, current_period};
use crate::{Phone, TestServer};

/// p-th percentile (nearest rank) of sorted samples.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `count` phones (devices `<run>-<n>` of the demo cadre), each holding `per_phone`
/// households of the county, downloaded.
pub async fn phones(server: &TestServer, run: &str, count: usize, per_phone: usize) -> Vec<Phone> {
    let first = Phone::login_with(&server.url(""), CADRE, server::demo::DEMO_PASSWORD, &format!("{run}-list"))
        .await
        .expect("login");
    let ids = first.list().await;
    assert!(ids.len() >= count * per_phone, "the county has {} households", ids.len());
    let mut out = Vec::new();
    for (i, chunk) in ids.chunks(per_phone).take(count).enumerate() {
        let mut phone = Phone::login_with(&server.url(""), CADRE, server::demo::DEMO_PASSWORD, &format!("{run}-{i}"))
            .await
            .expect("login");
        phone.want(&chunk.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(phone.try_sync().await.expect("download").refused.is_empty());
        out.push(phone);
    }
    out
}

/// Round `round`: every phone edits a note of each of its households, then all sync
/// at once. Appends each sync request's latency (ms) to `latencies`.
pub async fn round(phones: &mut Vec<Phone>, round: usize, latencies: &mut Vec<f64>) {
    let period = current_period().to_string();
    for (i, phone) in phones.iter_mut().enumerate() {
        let stamp = Stamp::new(CADRE, "干部", server::auth::now() + round as i64);
        for doc in phone.docs.values_mut() {
            doc.edit(&stamp, |h| h.visits.entry(period.clone()).or_default().note = format!("第{round}轮 {i}"))
                .expect("edit");
        }
    }
    let tasks: Vec<_> = phones
        .drain(..)
        .map(|mut p| {
            tokio::spawn(async move {
                let report = p.try_sync().await.expect("sync");
                assert!(report.refused.is_empty(), "{:?}", report.refused);
                (p, report.latencies)
            })
        })
        .collect();
    for t in tasks {
        let (p, l) = t.await.expect("phone");
        latencies.extend(l.iter().map(|d: &Duration| d.as_secs_f64() * 1e3));
        phones.push(p);
    }
}
