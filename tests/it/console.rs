//! The supervisor console's endpoints: returning a visit for correction and getting it
//! back, resolving a conflict two cadres made, the indicator trend and per-cadre
//! filters, with every refusal leaving the stored documents as they were.

use huhujian_tests::Phone;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::{ReviewAction, ReviewStatus, Stamp, VisitMode};

use crate::roster_server;

const P: &str = "2026-11";

fn visit(phone: &mut Phone, id: &str, stamp: &Stamp, wage: i64) {
    phone
        .docs
        .get_mut(id)
        .unwrap()
        .edit(stamp, |h| {
            let v = h.visits.entry(P.into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.income.wage = Some(wage);
        })
        .unwrap();
}

async fn error_code(resp: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.unwrap();
    body["error"].as_str().unwrap().to_owned()
}

async fn queue(s1: &Phone, status: &str) -> (Vec<String>, Value) {
    let q: Value = s1.get_json(&format!("/api/reviews?period={P}&status={status}")).await;
    let ids = q["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    (ids, q["counts"].clone())
}

#[tokio::test]
async fn a_returned_visit_reaches_the_cadre_and_comes_back_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    c1.want(&["H2", "H3"]);
    c1.sync().await;
    visit(&mut c1, "H2", &Stamp::new("c1", "李明", 1_795_000_000), 300);
    assert!(c1.sync().await.refused.is_empty());

    let (pending, counts) = queue(&s1, "pending").await;
    assert_eq!(pending, ["H2"], "only H2 has a visit to review");
    assert_eq!(counts, json!({"pending": 1, "returned": 0, "approved": 0}), "every status is counted");

    // Refusals change nothing.
    let before = server.peek().documents();
    let review = "/api/households/H2/review".to_owned();
    let no_comment = s1.post_json(&review, &json!({"period": P, "action": "return", "comment": "  "})).await;
    assert_eq!(error_code(no_comment, StatusCode::BAD_REQUEST).await, "comment_required");
    let bad_action = s1.post_json(&review, &json!({"period": P, "action": "maybe"})).await;
    assert_eq!(error_code(bad_action, StatusCode::BAD_REQUEST).await, "bad_action");
    let no_visit = s1.post_json("/api/households/H3/review", &json!({"period": P, "action": "approve"})).await;
    assert_eq!(error_code(no_visit, StatusCode::CONFLICT).await, "no_visit");
    let outside = s1.post_json("/api/households/H4/review", &json!({"period": P, "action": "approve"})).await;
    assert_eq!(outside.status(), StatusCode::NOT_FOUND, "H4 is in 光禄新村, outside s1's site");
    let by_cadre = c1.post_json(&review, &json!({"period": P, "action": "approve"})).await;
    assert_eq!(by_cadre.status(), StatusCode::FORBIDDEN, "cadres do not review");
    assert_eq!(server.peek().documents(), before, "refused reviews left every document as it was");

    // Return it with a comment.
    let returned =
        s1.post_json(&review, &json!({"period": P, "action": "return", "comment": "工资应为月收入，请核实"})).await;
    assert_eq!(returned.status(), StatusCode::OK);
    let detail: Value = returned.json().await.unwrap();
    let steps = detail["household"]["visits"][P]["reviews"].as_object().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(queue(&s1, "returned").await.0, ["H2"]);
    assert!(queue(&s1, "pending").await.0.is_empty());

    // The cadre's phone hears of it at the next sync, with the comment.
    c1.sync().await;
    let h = c1.docs["H2"].household().unwrap();
    let v = &h.visits[P];
    assert_eq!(v.review_status(), Some(ReviewStatus::Returned));
    let (_, step) = v.review_thread().pop().unwrap();
    assert_eq!(
        (step.by.as_str(), step.name.as_str(), step.comment.as_str()),
        ("s1", "赵主任", "工资应为月收入，请核实")
    );

    // Corrected and resubmitted: back in the queue. (Steps are a second apart, as they
    // are minutes or days apart in life, so the thread's time order is unambiguous.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stamp = Stamp::new("c1", "李明", server::auth::now());
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&stamp, |h| {
            let v = h.visits.get_mut(P).unwrap();
            v.income.wage = Some(3000);
            v.add_review(ReviewAction::Resubmit, "c1", "李明", stamp.at, "已改为 3000");
        })
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());
    assert_eq!(queue(&s1, "pending").await.0, ["H2"]);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let approved = s1.post_json(&review, &json!({"period": P, "action": "approve"})).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let again = s1.post_json(&review, &json!({"period": P, "action": "approve"})).await;
    assert_eq!(error_code(again, StatusCode::CONFLICT).await, "already_approved");
    let (_, counts) = queue(&s1, "approved").await;
    assert_eq!(counts, json!({"pending": 0, "returned": 0, "approved": 1}));

    // The whole exchange is in the household's history, with who uploaded each step.
    let history: Vec<Value> = s1.get_json("/api/households/H2/history").await;
    let uploaders: Vec<&str> = history.iter().filter_map(|e| e["uploaded_by"].as_str()).collect();
    assert!(uploaders.ends_with(&["c1", "s1", "c1", "s1"]), "{uploaders:?}");
    c1.sync().await;
    let v = &c1.docs["H2"].household().unwrap().visits[P];
    let actions: Vec<_> = v.review_thread().into_iter().map(|(_, r)| r.action.unwrap()).collect();
    assert_eq!(actions, [ReviewAction::Return, ReviewAction::Resubmit, ReviewAction::Approve]);
    assert_eq!(v.income.wage, Some(3000));
    server.stop().await;
}

#[tokio::test]
async fn a_conflict_is_resolved_from_the_console_and_disappears_on_the_phones() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    c1.want(&["H1"]);
    c2.want(&["H1"]);
    c1.sync().await;
    c2.sync().await;
    visit(&mut c1, "H1", &Stamp::new("c1", "李明", 1_795_000_000), 5200);
    visit(&mut c2, "H1", &Stamp::new("c2", "张华", 1_795_000_100), 4800);
    c1.sync().await;
    c2.sync().await;
    c1.sync().await;

    let conflicts: Vec<Value> = s1.get_json("/api/conflicts").await;
    let wage: Vec<&Value> = conflicts.iter().filter(|c| c["key"] == "v/2026-11/i/wage").collect();
    assert_eq!(wage.len(), 1, "{conflicts:?}");
    let mut values: Vec<i64> =
        wage[0]["values"].as_array().unwrap().iter().map(|v| v["value"].as_i64().unwrap()).collect();
    values.sort();
    assert_eq!(values, [4800, 5200]);

    let before = server.peek().documents();
    let approve = s1.post_json("/api/households/H1/review", &json!({"period": P, "action": "approve"})).await;
    assert_eq!(error_code(approve, StatusCode::CONFLICT).await, "has_conflicts");
    let resolve = "/api/households/H1/resolve";
    let made_up = s1.post_json(resolve, &json!({"key": "v/2026-11/i/wage", "value": 9999})).await;
    assert_eq!(error_code(made_up, StatusCode::BAD_REQUEST).await, "not_a_candidate");
    let malformed = s1.post_json(resolve, &json!({"key": "v/2026-11/i/wage"})).await;
    assert_eq!(error_code(malformed, StatusCode::BAD_REQUEST).await, "bad_json");
    assert_eq!(server.peek().documents(), before, "refusals changed nothing");

    let ok = s1.post_json(resolve, &json!({"key": "v/2026-11/i/wage", "value": 4800})).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let detail: Value = ok.json().await.unwrap();
    assert_eq!(detail["conflicts"], json!([]));
    assert!(s1.get_json::<Vec<Value>>("/api/conflicts").await.is_empty());
    let twice = s1.post_json(resolve, &json!({"key": "v/2026-11/i/wage", "value": 4800})).await;
    assert_eq!(error_code(twice, StatusCode::CONFLICT).await, "no_conflict");

    for phone in [&mut c1, &mut c2] {
        phone.sync().await;
        let doc = &phone.docs["H1"];
        assert!(doc.conflicts().unwrap().is_empty());
        assert_eq!(doc.household().unwrap().visits[P].income.wage, Some(4800));
    }
    server.stop().await;
}

#[tokio::test]
async fn trend_and_cadre_filters_count_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    let admin = Phone::login(&server, "admin", "desk-admin").await;
    c2.want(&["H4"]);
    c2.sync().await;
    visit(&mut c2, "H4", &Stamp::new("c2", "张华", 1_795_000_000), 2000);
    c2.sync().await;

    let trend: Vec<Value> = admin.get_json(&format!("/api/trend?period={P}&months=3")).await;
    let periods: Vec<&str> = trend.iter().map(|t| t["period"].as_str().unwrap()).collect();
    assert_eq!(periods, ["2026-09", "2026-10", "2026-11"]);
    let visited: Vec<i64> = trend.iter().map(|t| t["indicators"]["visited_in_person"].as_i64().unwrap()).collect();
    assert_eq!(visited, [0, 0, 1]);
    assert_eq!(trend[2]["indicators"]["households"], 4);
    assert_eq!(trend[2]["indicators"]["wage_income"], 2000);

    let by_cadre: Vec<Value> = admin.get_json(&format!("/api/coverage?period={P}&by=site&cadre=c2")).await;
    let rows: Vec<(String, i64, i64)> = by_cadre
        .iter()
        .map(|r| {
            (r["key"].as_str().unwrap().to_owned(), r["assigned"].as_i64().unwrap(), r["visited"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(rows, [("光禄新村".to_owned(), 1, 1), ("阳光社区".to_owned(), 1, 0)], "c2 has H1 and H4");
    let not_visited: Vec<Value> = admin.get_json(&format!("/api/flagged?kind=not_visited&period={P}&cadre=c2")).await;
    assert_eq!(not_visited.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["H1"]);

    let too_long = admin.get(&format!("/api/trend?period={P}&months=99")).await;
    assert_eq!(error_code(too_long, StatusCode::BAD_REQUEST).await, "bad_months");
    let detail: Value = admin.get_json("/api/households/H4").await;
    assert_eq!(detail["household"]["facts"]["site"], "光禄新村");
    let cadre_detail = c2.get("/api/households/H2").await;
    assert_eq!(cadre_detail.status(), StatusCode::NOT_FOUND, "H2 is c1's");
    server.stop().await;
}

/// 三个不减 compares like with like (issue 17): while 2026-11 is still being visited,
/// only the households recorded both then and in 2025-11 are compared, each with
/// itself. H1 and H2 were visited in 2025-11, both with a worker; so far in 2026-11
/// only H1 (the same worker, a higher wage). In total that looks like a fall (1 worker
/// against 2); like with like it is 1 against 1, and wages rose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_no_decreases_compares_the_same_households_while_a_month_is_not_complete() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let admin = Phone::login(&server, "admin", "desk-admin").await;
    c1.want(&["H1", "H2"]);
    c1.sync().await;
    let stamp = Stamp::new("c1", "李明", 1_795_000_000);
    for (id, period, wage) in [("H1", "2025-11", 3000), ("H2", "2025-11", 2000), ("H1", P, 3500)] {
        c1.docs
            .get_mut(id)
            .unwrap()
            .edit(&stamp, |h| {
                let v = h.visits.entry(period.into()).or_default();
                v.mode = Some(VisitMode::InPerson);
                v.income.wage = Some(wage);
                v.employment.entry("a".into()).or_default().status = Some(shared::EmploymentStatus::Employed);
            })
            .unwrap();
    }
    assert!(c1.sync().await.refused.is_empty());
    let report: Value = admin.get_json(&format!("/api/indicators?period={P}")).await;
    let three = &report["three_no_decrease"];
    assert_eq!(report["baseline"], "2025-11");
    assert_eq!(three["basis"], "same_households", "{report}");
    assert_eq!(three["households"], json!([1, 1]));
    assert_eq!((three["employed"].clone(), three["wage_income"].clone()), (json!([1, 1]), json!([3500, 3000])));
    assert_eq!(report["three_no_decrease_holds"], true);
    // In total it would have been 1 worker against 2.
    assert_eq!(report["indicators"]["employed_people"], 1);
    let base: Value = admin.get_json("/api/indicators?period=2025-11&baseline=2024-11").await;
    assert_eq!(base["indicators"]["employed_people"], 2);
    // Another baseline is compared in total, and the answer says so.
    let other: Value = admin.get_json(&format!("/api/indicators?period={P}&baseline=2025-10")).await;
    assert_eq!(other["three_no_decrease"]["basis"], "incomplete");
    server.stop().await;
}
