//! 年度监测设置 on both engines: every user reads the settings, only an admin replaces
//! them, bad settings are refused with the year named and nothing changed, and the
//! indicators follow the line of the period's year at once (the summaries of the
//! changed years are computed again).

use huhujian_tests::pg::PgDb;
use huhujian_tests::{Phone, TestServer};
use serde_json::{Value, json};
use server::api::dashboard::IndicatorReport;
use shared::{Employment, EmploymentStatus, Settings, Stamp, Visit, VisitMode};

use crate::{roster_server, roster_server_on_postgres};

/// H2's one member earns 700 a month in each of the 12 months before the current
/// one: 8,400 a year, 8,400 per capita.
async fn twelve_months_of_h2(server: &TestServer) {
    let mut c1 = Phone::login(server, "c1", "c1-phone").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let current = server::api::current_period();
    let stamp = Stamp::new("c1", "李明", server::auth::now());
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&stamp, |h| {
            for n in 1..=12 {
                let p = current.plus_months(-n);
                let mut v = Visit { mode: Some(VisitMode::InPerson), date: Some(p.last_day()), ..Visit::default() };
                v.visitors.insert("c1".into(), "李明".into());
                v.income.wage = Some(700);
                v.employment.insert(
                    "a".into(),
                    Employment {
                        status: Some(EmploymentStatus::Employed),
                        channel: Some(shared::Channel::InCounty),
                        monthly_income: Some(700),
                        ..Employment::default()
                    },
                );
                h.visits.insert(p.to_string(), v);
            }
        })
        .unwrap();
    let report = c1.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}

async fn indicators(phone: &Phone) -> shared::indicators::Indicators {
    let period = server::api::current_period();
    let report: IndicatorReport = phone.get_json(&format!("/api/indicators?period={period}")).await;
    report.indicators
}

async fn scenario(server: &TestServer) {
    twelve_months_of_h2(server).await;
    let admin = Phone::login(server, "admin", "desk").await;
    let s1 = Phone::login(server, "s1", "desk").await;
    let c1 = Phone::login(server, "c1", "c1-phone").await;
    let year = i32::from(server::api::current_period().year());

    // A new database: seed 000's low-income target from 2020, no monitoring line.
    let start: Settings = c1.get_json("/api/settings").await;
    assert_eq!(start.for_year(year).low_income_target, Some(10_000));
    assert_eq!(start.for_year(year).monitoring_line, None);
    let i = indicators(&s1).await;
    assert_eq!((i.low_income_labour, i.below_line, i.near_line), (1, 0, 0), "H2: 8,400 < 10,000");

    // The province's line for this year: H2 is below it, at once.
    let body = json!({"years": [
        {"year": 2020, "monitoring_line": null, "low_income_target": 10000, "expense_share_percent": null},
        {"year": year, "monitoring_line": 9000, "low_income_target": null, "expense_share_percent": 50},
    ]});
    let put = admin.put_json("/api/settings", &body).await;
    assert_eq!(put.status(), 200);
    let read: Settings = c1.get_json("/api/settings").await;
    assert_eq!(read.for_year(year).monitoring_line, Some(9_000));
    assert_eq!(read.for_year(year).low_income_target, None, "this year's entry replaces 2020's whole");
    let i = indicators(&s1).await;
    assert_eq!((i.low_income_labour, i.below_line, i.near_line), (1, 1, 0), "8,400 < 9,000 (the line counts)");

    // Lowered to 8,000: H2 is just above it (8,400 < 8,800), on the edge.
    let lower = json!({"years": [{"year": year, "monitoring_line": 8000, "low_income_target": null,
        "expense_share_percent": null}]});
    assert_eq!(admin.put_json("/api/settings", &lower).await.status(), 200);
    let i = indicators(&s1).await;
    assert_eq!((i.low_income_labour, i.below_line, i.near_line), (0, 0, 1));

    // 三个不减 against the end of last year: the dashboard's default baseline follows.
    let december = format!("{}-12", year - 1);
    let based = json!({"years": [{"year": year, "monitoring_line": 8000, "low_income_target": null,
        "expense_share_percent": null, "baseline": december}]});
    assert_eq!(admin.put_json("/api/settings", &based).await.status(), 200);
    let period = server::api::current_period();
    let report: IndicatorReport = s1.get_json(&format!("/api/indicators?period={period}")).await;
    assert_eq!(report.baseline.as_deref(), Some(december.as_str()));
    let same_year = json!({"years": [{"year": year, "baseline": format!("{year}-01")}]});
    let resp = admin.put_json("/api/settings", &same_year).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("三个不减基期"));

    // Refused, each saying why, and nothing changes.
    let before: Value = admin.get_json("/api/settings").await;
    let refused = |body: Value, status: u16, code: &'static str, needle: &'static str| {
        let admin = &admin;
        async move {
            let resp = admin.put_json("/api/settings", &body).await;
            assert_eq!(resp.status().as_u16(), status, "{body}");
            let err: Value = resp.json().await.unwrap();
            assert_eq!(err["error"], code, "{err}");
            assert!(err["zh"].as_str().unwrap().contains(needle), "{err}");
            assert!(!err["en"].as_str().unwrap().is_empty());
        }
    };
    refused(json!({"years": [{"year": 1999, "monitoring_line": 8000}]}), 400, "bad_settings", "1999").await;
    refused(json!({"years": [{"year": year, "monitoring_line": -5}]}), 400, "bad_settings", "监测线").await;
    refused(json!({"years": [{"year": year}, {"year": year}]}), 400, "bad_settings", "两次").await;
    refused(json!({"years": "8000"}), 400, "bad_json", "JSON").await;
    let cadre = c1.put_json("/api/settings", &json!({"years": []})).await;
    assert_eq!(cadre.status(), 403);
    let supervisor = s1.put_json("/api/settings", &json!({"years": []})).await;
    assert_eq!(supervisor.status(), 403);
    let after: Value = admin.get_json("/api/settings").await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn settings_are_read_by_all_changed_by_admins_and_move_the_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    scenario(&server).await;
    let audited = server.peek().count("SELECT COUNT(*) FROM audit_log WHERE action = 'settings'");
    assert_eq!(audited, 3, "three changes, each audited; refusals are not");
}

#[tokio::test]
async fn settings_work_the_same_on_postgres_too() {
    let pg = PgDb::create().await;
    let server = roster_server_on_postgres(&pg).await;
    scenario(&server).await;
}
