//! 监测帮扶 on both engines: a cadre raises a clue from the phone (the write rules let
//! a cadre raise and verify, never decide); the supervisor finds it first in the case
//! queue, includes the household as 边缘易致贫户 (its monitoring type follows), is told
//! why the risk cannot be eliminated yet, adds a public-welfare post to the ledger; the
//! cadre's phone receives the decision and the measure at its next sync. Bad steps and
//! measures are refused with a reason and change nothing.
//! The counts by site (`/api/indicators/sites`) add up to the whole.

use huhujian_tests::pg::PgDb;
use huhujian_tests::{Phone, TestServer};
use serde_json::{Value, json};
use shared::api::{CaseQueue, IndicatorReport, SiteIndicators};
use shared::{CaseAct, CaseStatus, CaseStep, ClueSource, MeasureKind, Monitoring, Stamp};

use crate::{roster_server, roster_server_on_postgres};

async fn post(phone: &Phone, path: &str, body: Value) -> (u16, Value) {
    let resp = phone.post_json(path, &body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Sends a department's list as `token`'s user: the status and the answer.
async fn import_list(server: &TestServer, token: &str, csv: &str) -> (u16, Value) {
    let resp = huhujian_tests::http()
        .post(server.url("/api/cases/import"))
        .bearer_auth(token)
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap())
}

/// The admin's phone gives member `a` of `household` the ID number `number` and syncs
/// it, so that the household's row is written again.
async fn give_id_number(server: &TestServer, household: &str, number: &str) -> Phone {
    let mut admin = Phone::login(server, "admin", "admin-phone").await;
    admin.want(&[household]);
    admin.sync().await;
    let at = server::auth::now();
    admin
        .docs
        .get_mut(household)
        .unwrap()
        .edit(&Stamp::new("admin", "管理员", at), |h| h.members.get_mut("a").unwrap().id_number = number.into())
        .unwrap();
    assert!(admin.sync().await.refused.is_empty());
    admin
}

async fn scenario(server: &TestServer) {
    let mut c1 = Phone::login(server, "c1", "c1-phone").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let at = server::auth::now();
    let today = shared::Date::in_china(at);
    // A clue raised at the door: allowed.
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", at), |h| {
            let clue = CaseStep {
                act: Some(CaseAct::Clue),
                by: "c1".into(),
                name: "李明".into(),
                on: Some(today),
                text: "户主摔伤住院，务工中断".into(),
                source: Some(ClueSource::Visit),
                kind: None,
            };
            h.case.record(clue, at);
        })
        .unwrap();
    let report = c1.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    // A cadre may not decide: including the household from the phone is refused.
    let mut rogue = Phone::login(server, "c1", "c1-other").await;
    rogue.want(&["H2"]);
    rogue.sync().await;
    rogue
        .docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", at + 1), |h| {
            let include = CaseStep {
                act: Some(CaseAct::Include),
                by: "c1".into(),
                kind: Some(Monitoring::Sudden),
                ..Default::default()
            };
            h.case.record(include, at + 1);
        })
        .unwrap();
    let refused = rogue.sync().await.refused.remove("H2").expect("refused");
    assert_eq!(refused.code, "not_allowed", "{refused:?}");

    // The supervisor's queue: H2, a new clue, first.
    let s1 = Phone::login(server, "s1", "desk").await;
    let queue: CaseQueue = s1.get_json("/api/cases").await;
    assert_eq!(queue.rows.len(), 1, "{queue:?}");
    let row = &queue.rows[0];
    assert_eq!((row.household.id.as_str(), row.status, row.overdue), ("H2", CaseStatus::Clue, None));
    assert_eq!(row.latest, "户主摔伤住院，务工中断");

    // Refused steps, each with its reason; nothing changes.
    let (status, err) = post(&s1, "/api/households/H2/case", json!({"act": "include"})).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("bad_case_step")), "{err}");
    let (status, err) = post(&s1, "/api/households/H2/case", json!({"act": "eliminate", "text": "收入稳定"})).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("case_step_not_allowed")), "{err}");
    assert!(err["zh"].as_str().unwrap().contains("待核实"), "{err}");
    let (status, _) = post(&s1, "/api/households/H2/case", json!({"act": "nonsense"})).await;
    assert_eq!(status, 400);

    // Included as 边缘易致贫户: the type follows.
    let (status, detail) =
        post(&s1, "/api/households/H2/case", json!({"act": "include", "kind": "edge", "text": "核实属实"})).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["household"]["case"]["status"], "monitored");
    assert_eq!(detail["household"]["facts"]["monitoring"], "edge");

    // Not eliminable yet: no income above the line, no measure.
    let (status, err) = post(&s1, "/api/households/H2/case", json!({"act": "eliminate", "text": "收入稳定"})).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("cannot_eliminate")), "{err}");
    let why = err["zh"].as_str().unwrap();
    assert!(why.contains("尚未落实任何帮扶措施") && why.contains("监测线"), "{why}");

    // The ledger: a bad measure refused, then a public-welfare post.
    let (status, err) = post(&s1, "/api/households/H2/measures", json!({"measure": {"kind": "welfare_post"}})).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("bad_measure")), "{err}");
    let post_job = json!({"measure": {"kind": "welfare_post", "start": today.to_string(), "end": null,
        "amount": 800, "provider": "镇人社所", "note": "保洁员", "by": ""}});
    let (status, detail) = post(&s1, "/api/households/H2/measures", post_job).await;
    assert_eq!(status, 200, "{detail}");
    let measures = detail["household"]["measures"].as_object().unwrap();
    assert_eq!(measures.len(), 1);
    let (mid, m) = measures.iter().next().unwrap();
    assert_eq!((m["kind"].as_str(), m["by"].as_str()), (Some("welfare_post"), Some("s1")));
    // Its end, later: the same entry changed.
    let ended = json!({"id": mid, "measure": {"kind": "welfare_post", "start": today.to_string(),
        "end": today.to_string(), "amount": 800, "provider": "镇人社所", "note": "保洁员", "by": ""}});
    let (status, detail) = post(&s1, "/api/households/H2/measures", ended).await;
    assert_eq!(status, 200);
    assert_eq!(detail["household"]["measures"][mid]["end"], today.to_string());
    let (status, _) = post(&s1, "/api/households/H2/measures", json!({"id": "nope", "measure": m})).await;
    assert_eq!(status, 404);

    // The cadre's phone has the decision and the measure after its sync.
    c1.sync().await;
    let h = c1.docs["H2"].household().unwrap();
    assert_eq!(h.case.status, Some(CaseStatus::Monitored));
    assert_eq!(h.case.steps.len(), 2, "the clue and the inclusion");
    assert_eq!(h.facts.monitoring, Some(Monitoring::Edge));
    assert_eq!(h.measures.values().next().unwrap().kind, Some(MeasureKind::WelfarePost));
    let queue: CaseQueue = s1.get_json("/api/cases").await;
    assert_eq!((queue.rows[0].status, queue.rows[0].measures), (CaseStatus::Monitored, 1));

    // Having seen the decision, the cadre cannot undo it with a new clue of their own,
    // nor write the ledger or the monitoring type: each refused, the household as it was.
    let later = server::auth::now() + 5;
    type Forgery = Box<dyn Fn(&mut shared::Household)>;
    let forgeries: [(&str, Forgery); 3] = [
        (
            "status",
            Box::new(move |h| {
                let clue = CaseStep {
                    act: Some(CaseAct::Clue),
                    by: "c1".into(),
                    name: "李明".into(),
                    on: Some(shared::Date::in_china(later)),
                    text: "重新上报".into(),
                    ..Default::default()
                };
                h.case.record(clue, later);
            }),
        ),
        (
            "measure",
            Box::new(|h| {
                h.measures.values_mut().for_each(|m| m.amount = Some(8_000));
            }),
        ),
        ("monitoring", Box::new(|h| h.facts.monitoring = Some(Monitoring::None))),
    ];
    for (what, forge) in forgeries {
        let mut phone = Phone::login(server, "c1", &format!("c1-{what}")).await;
        phone.want(&["H2"]);
        phone.sync().await;
        phone.docs.get_mut("H2").unwrap().edit(&Stamp::new("c1", "李明", later), |h| forge(h)).unwrap();
        let refusal = phone.sync().await.refused.remove("H2").unwrap_or_else(|| panic!("{what} not refused"));
        assert_eq!(refusal.code, "not_allowed", "{what}: {refusal:?}");
    }
    let queue: CaseQueue = s1.get_json("/api/cases").await;
    assert_eq!(queue.rows[0].status, CaseStatus::Monitored);

    // The exports' 监测帮扶 and 帮扶措施 sheets.
    let cases_csv = s1.get("/api/export/cases.csv").await.text().await.unwrap();
    assert!(
        cases_csv.contains("H2") && cases_csv.contains("纳入监测") && cases_csv.contains("边缘易致贫户"),
        "{cases_csv}"
    );
    assert!(cases_csv.contains("户主摔伤住院"), "{cases_csv}");
    let measures_csv = s1.get("/api/export/measures.csv").await.text().await.unwrap();
    assert!(measures_csv.contains("公益性岗位") && measures_csv.contains("镇人社所"), "{measures_csv}");

    // A department's list: refused whole for its bad rows, then imported.
    let list = |csv: &'static str| import_list(server, &s1.token, csv);
    let bad = "户编码,身份证号,原因,部门\nH1,,大病医疗支出超3万元,县医保局\nH9,,低保边缘,县民政局\nH2,,失业,县人社局\n,532325198005011230,残疾,县残联\nH3,,,县民政局\n";
    let (status, err) = list(bad).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("clues_rejected")), "{err}");
    let lines: Vec<u64> = err["rows"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5, 6], "H9 unknown, H2 already monitored, an unknown ID number, no reason: {err}");
    assert!(err["rows"][1]["zh"].as_str().unwrap().contains("监测帮扶中"), "{err}");
    let queue: CaseQueue = s1.get_json("/api/cases").await;
    assert_eq!(queue.rows.len(), 1, "nothing imported");
    let good = "户编码,原因,部门\nH1,大病医疗支出超3万元,县医保局\nH3,低保边缘,县民政局\n";
    let (status, done) = list(good).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["households"], json!(["H1", "H3"]));
    let queue: CaseQueue = s1.get_json("/api/cases").await;
    let h1 = queue.rows.iter().find(|r| r.household.id == "H1").unwrap();
    assert_eq!((h1.status, h1.latest.as_str()), (CaseStatus::Clue, "县医保局：大病医疗支出超3万元"));

    // The counts by site: the admin sees both sites, the site's supervisor hers; the
    // sites add up to the whole; a cadre filter (counted household by household) agrees.
    let admin = Phone::login(server, "admin", "desk").await;
    let sites: Vec<SiteIndicators> = admin.get_json("/api/indicators/sites").await;
    let names: Vec<&str> = sites.iter().map(|s| s.site.as_str()).collect();
    assert_eq!(names, ["光禄新村", "阳光社区"]);
    let sunny = &sites[1].indicators;
    assert_eq!(sunny.households, 3);
    assert_eq!(sunny.monitored.get(&Monitoring::Edge), Some(&1), "H2");
    assert_eq!(sunny.monitored_with_measure, 1, "H2's post, ended today, was in force this period");
    assert_eq!(sunny.cases.get(&CaseStatus::Clue), Some(&2), "H1 and H3 from the department's list");
    assert_eq!(sunny.cases.get(&CaseStatus::Monitored), Some(&1));
    assert_eq!((sites[0].indicators.households, sites[0].indicators.cases.len()), (1, 0));
    let whole: IndicatorReport = admin.get_json("/api/indicators").await;
    let mut added = shared::indicators::Indicators::default();
    sites.iter().for_each(|s| added.absorb(s.indicators.clone()));
    assert_eq!(added, whole.indicators);
    let hers: Vec<SiteIndicators> = s1.get_json("/api/indicators/sites").await;
    assert_eq!(hers, sites[1..]);
    let of_c2: Vec<SiteIndicators> = admin.get_json("/api/indicators/sites?cadre=c2").await;
    let counts: Vec<(&str, u32, Option<&u32>)> = of_c2
        .iter()
        .map(|s| (s.site.as_str(), s.indicators.households, s.indicators.cases.get(&CaseStatus::Clue)))
        .collect();
    assert_eq!(counts, [("光禄新村", 1, None), ("阳光社区", 1, Some(&1))], "c2 has H1 and H4");
    assert_eq!(c1.get("/api/indicators/sites").await.status(), 403);

    // The console's 八必访 list says why each household is on it.
    let must: Vec<Value> = admin.get_json("/api/flagged?kind=must_visit").await;
    let h2 = must.iter().find(|r| r["id"] == "H2").expect("H2, monitored, must be visited");
    assert!(h2["must_visit"].as_array().unwrap().contains(&json!("case")), "{h2}");
    let all: Vec<Value> = admin.get_json("/api/flagged?kind=not_visited").await;
    assert!(all.iter().all(|r| r.get("must_visit").is_none()), "only the 八必访 list carries reasons");

    // 明白卡 names each cadre with the phone number the admin gave their account.
    let (status, err) = post(&admin, "/api/admin/users/c1", json!({"phone": "138-0000<script>"})).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("bad_phone")), "{err}");
    let (status, row) = post(&admin, "/api/admin/users/c1", json!({"phone": " 138 0887 1111 "})).await;
    assert_eq!((status, row["phone"].as_str()), (200, Some("138 0887 1111")), "{row}");
    let detail: Value = s1.get_json("/api/households/H2").await;
    assert_eq!(detail["cadres"], json!([{"id": "c1", "name": "李明", "phone": "138 0887 1111"}]));
    let me: Value = c1.get_json("/api/me").await;
    assert_eq!(me["phone"], "138 0887 1111", "{me}");

    // A list naming a member by 身份证号 finds the household from its row's ID numbers,
    // kept when the household is written (here by the admin's sync).
    give_id_number(server, "H4", "532325197007071233").await;
    let (status, done) =
        import_list(server, &admin.token, "身份证号,原因,部门\n532325197007071233,残疾等级提高,县残联\n").await;
    assert_eq!(status, 200);
    assert_eq!(done["households"], json!(["H4"]), "{done}");

    // Cadres do not read the queue or decide.
    assert_eq!(c1.get("/api/cases").await.status(), 403);
    let (status, _) = post(&c1, "/api/households/H2/case", json!({"act": "close", "text": "x"})).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_clue_from_the_phone_is_decided_in_the_console_and_helped() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    scenario(&server).await;
}

#[tokio::test]
async fn cases_work_the_same_on_postgres_too() {
    let pg = PgDb::create().await;
    let server = roster_server_on_postgres(&pg).await;
    scenario(&server).await;
}

/// Six months on: a household monitored since seven months ago, whose income has been
/// above the line all along, is refused elimination until a measure is recorded, then
/// eliminated; its monitoring type goes back to 非监测户. (The history is written by
/// an admin's sync, the only way to date steps in the past.)
#[tokio::test]
async fn a_risk_is_eliminated_once_every_condition_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin_desk = Phone::login(&server, "admin", "desk").await;
    let line = json!({"years": [{"year": 2020, "monitoring_line": 9000, "low_income_target": 10000,
        "expense_share_percent": null}]});
    assert_eq!(admin_desk.put_json("/api/settings", &line).await.status(), 200);

    let mut admin = Phone::login(&server, "admin", "admin-phone").await;
    admin.want(&["H1"]);
    admin.sync().await;
    let now = server::auth::now();
    let current = server::api::current_period();
    let month = |n: i32| current.plus_months(-n);
    admin
        .docs
        .get_mut("H1")
        .unwrap()
        .edit(&Stamp::new("admin", "管理员", now), |h| {
            // Two members, 1,600 a month each month of the last year: 9,600 a head.
            for n in 1..=12 {
                let mut v = shared::Visit { mode: Some(shared::VisitMode::InPerson), ..Default::default() };
                v.date = Some(month(n).last_day());
                v.visitors.insert("admin".into(), "管理员".into());
                v.income.wage = Some(1_600);
                v.guarantees = shared::Guarantees {
                    food_clothing: Some(true),
                    schooling: Some(true),
                    medical: Some(true),
                    housing: Some(true),
                    water: Some(true),
                };
                for m in ["a", "b"] {
                    v.employment.insert(
                        m.into(),
                        shared::Employment {
                            status: Some(shared::EmploymentStatus::Employed),
                            channel: Some(shared::Channel::InCounty),
                            ..Default::default()
                        },
                    );
                }
                h.visits.insert(month(n).to_string(), v);
            }
            let at = |n: i32| now - i64::from(n) * 31 * 86_400;
            let step = |act, n: i32| CaseStep {
                act: Some(act),
                by: "s1".into(),
                name: "赵主任".into(),
                on: Some(shared::Date::in_china(at(n))),
                text: "历史记录".into(),
                ..Default::default()
            };
            h.case.record(step(CaseAct::Clue, 8), at(8));
            h.case.record(CaseStep { kind: Some(Monitoring::Edge), ..step(CaseAct::Include, 7) }, at(7));
            h.facts.monitoring = Some(Monitoring::Edge);
        })
        .unwrap();
    let report = admin.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    let eliminate = json!({"act": "eliminate", "text": "务工收入稳定，两不愁三保障达标"});
    let (status, err) = post(&admin_desk, "/api/households/H1/case", eliminate.clone()).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("cannot_eliminate")), "{err}");
    assert_eq!(err["zh"], "暂不能消除风险：尚未落实任何帮扶措施", "only the measure is missing: {err}");
    let queue: CaseQueue = admin_desk.get_json("/api/cases").await;
    assert!(!queue.rows[0].eligible);

    let started = shared::Date::in_china(now - 6 * 31 * 86_400).to_string();
    let job = json!({"measure": {"kind": "welfare_post", "start": started, "amount": 800}});
    assert_eq!(post(&admin_desk, "/api/households/H1/measures", job).await.0, 200);
    let queue: CaseQueue = admin_desk.get_json("/api/cases").await;
    assert!(queue.rows[0].eligible, "{queue:?}");
    let (status, detail) = post(&admin_desk, "/api/households/H1/case", eliminate).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["household"]["case"]["status"], "eliminated");
    assert_eq!(detail["household"]["facts"]["monitoring"], "none");
    // A new clue may follow an eliminated risk.
    let again = json!({"act": "clue", "text": "家人重病"});
    assert_eq!(post(&admin_desk, "/api/households/H1/case", again).await.0, 200);
}

#[tokio::test]
async fn a_member_is_found_by_id_number_even_in_a_row_written_before_they_were_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = give_id_number(&server, "H3", "532325199006061227").await;
    // The row keeps the ID number…
    let peek = server.peek();
    let kept = peek.texts("SELECT COALESCE(id_numbers, 'NULL') FROM households WHERE id = 'H3'");
    assert_eq!(kept, ["532325199006061227"]);
    // …and a row from before migration 13 (NULL) is read from its document.
    peek.execute("UPDATE households SET id_numbers = NULL");
    let (status, done) = import_list(&server, &admin.token, "身份证号,原因\n532325199006061227,大病\n").await;
    assert_eq!((status, &done["households"]), (200, &json!(["H3"])), "{done}");
}
