//! The admin screens' API: the user list (assignments, login locks), changing and
//! disabling accounts, the assignments by site and grid, and lists of assignments
//! applied all or nothing.

use huhujian_tests::{PASSWORD, Phone, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::roster_server;

/// POSTs `body` as JSON with `token` (none: no header); status and JSON answer
/// (`null` when empty).
async fn post(server: &TestServer, token: Option<&str>, path: &str, body: &Value) -> (StatusCode, Value) {
    let mut req = huhujian_tests::http().post(server.url(path)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn login(server: &TestServer, login: &str, password: &str) -> StatusCode {
    let body = json!({"login": login, "password": password, "device_id": "d1"});
    post(server, None, "/api/login", &body).await.0
}

/// The users list as (login, row).
async fn users(admin: &Phone) -> Vec<(String, Value)> {
    let rows: Vec<Value> = admin.get_json("/api/admin/users").await;
    rows.into_iter().map(|r| (r["login"].as_str().unwrap().to_owned(), r)).collect()
}

async fn user(admin: &Phone, login: &str) -> Value {
    users(admin).await.into_iter().find(|(l, _)| l == login).unwrap().1
}

/// (household, cadres) of `GET /api/admin/assignments{query}`.
async fn assigned(admin: &Phone, query: &str) -> Vec<(String, Vec<String>)> {
    let view: Value = admin.get_json(&format!("/api/admin/assignments{query}")).await;
    view["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let cadres = h["cadres"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
            (h["id"].as_str().unwrap().to_owned(), cadres)
        })
        .collect()
}

fn pairs(expected: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    expected.iter().map(|(h, cs)| ((*h).to_owned(), cs.iter().map(|c| (*c).to_owned()).collect())).collect()
}

#[tokio::test]
async fn the_user_list_shows_roles_areas_assignments_and_locks() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    for _ in 0..server::auth::FREE_FAILURES {
        assert_eq!(login(&server, "c2", "wrong").await, 401);
    }
    let admin = Phone::login(&server, "admin", "desk").await;
    let list = users(&admin).await;
    let logins: Vec<&str> = list.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(logins, ["admin", "s1", "c1", "c2"], "admins, supervisors, cadres");
    let row = |l: &str| list.iter().find(|(x, _)| x == l).unwrap().1.clone();
    assert_eq!(row("s1")["role"], "supervisor");
    assert_eq!(row("s1")["area"], "site:阳光社区");
    assert_eq!(row("s1")["name"], "赵主任");
    assert_eq!(row("admin")["area"], Value::Null);
    assert_eq!(row("c1")["assigned"], 3, "H1, H2, H3");
    assert_eq!(row("c2")["assigned"], 2, "H1, H4");
    assert_eq!(row("s1")["assigned"], 0);
    assert_eq!(row("c1")["locked_until"], Value::Null);
    assert_eq!(row("c2")["failed_logins"], 5);
    let until = row("c2")["locked_until"].as_i64().unwrap();
    let now = server::auth::now();
    assert!(until > now && until <= now + 30, "locked for 30 s: {until} vs {now}");
    assert_eq!(row("c2")["disabled"], false);

    // Only admins, and only with a token.
    let c1 = Phone::login(&server, "c1", "phone").await;
    assert_eq!(c1.get("/api/admin/users").await.status(), 403);
    assert_eq!(c1.get("/api/admin/assignments").await.status(), 403);
    let s1 = Phone::login(&server, "s1", "desk").await;
    assert_eq!(s1.get("/api/admin/users").await.status(), 403);
    let anonymous = huhujian_tests::http().get(server.url("/api/admin/users")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // Creating a user answers with its row; a bad role is named.
    let new = json!({"login": "c3", "name": "王芳", "role": "cadre", "password": PASSWORD});
    let (status, body) = post(&server, Some(&admin.token), "/api/admin/users", &new).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["login"], "c3");
    assert_eq!(body["assigned"], 0);
    let bad = json!({"login": "c4", "name": "某", "role": "boss", "password": PASSWORD});
    let (status, body) = post(&server, Some(&admin.token), "/api/admin/users", &bad).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_role")));
    assert!(body["zh"].as_str().unwrap().contains("boss"));
    let (status, body) = post(&server, Some(&c1.token), "/api/admin/users", &new).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(users(&admin).await.len(), 5);
}

#[tokio::test]
async fn an_admin_changes_name_area_role_and_password_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let token = Some(admin.token.as_str());

    // Name and area: the supervisor's scope follows at once.
    let s1 = Phone::login(&server, "s1", "desk").await;
    assert_eq!(s1.list().await, ["H1", "H2", "H3"]);
    let (status, row) =
        post(&server, token, "/api/admin/users/s1", &json!({"name": "赵新", "area": "township:光禄镇"})).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!((row["name"].as_str(), row["area"].as_str()), (Some("赵新"), Some("township:光禄镇")));
    assert_eq!(s1.list().await, ["H4"]);

    // Every error names what is wrong, and a refused change writes nothing.
    for (path, body, status, code) in [
        ("/api/admin/users/nobody", json!({"name": "某"}), 404, "unknown_user"),
        ("/api/admin/users/s1", json!({"role": "boss"}), 400, "bad_role"),
        ("/api/admin/users/s1", json!({"area": "village:某村"}), 400, "bad_area"),
        ("/api/admin/users/s1", json!({"area": null}), 400, "area_required"),
        ("/api/admin/users/c1", json!({"role": "supervisor"}), 400, "area_required"),
        ("/api/admin/users/s1", json!({"name": "改不了", "password": "short"}), 400, "weak_password"),
        ("/api/admin/users/s1", json!({"name": "  "}), 400, "bad_name"),
        ("/api/admin/users/s1", json!({"passwd": "a long password"}), 400, "bad_json"),
        ("/api/admin/users/admin", json!({"role": "cadre"}), 400, "cannot_demote_self"),
    ] {
        let (got, answer) = post(&server, token, path, &body).await;
        assert_eq!((got.as_u16(), answer["error"].as_str()), (status, Some(code)), "{path} {body}: {answer}");
        assert!(!answer["zh"].as_str().unwrap().is_empty() && !answer["en"].as_str().unwrap().is_empty());
    }
    let (_, answer) = post(&server, token, "/api/admin/users/s1", &json!({"role": "boss"})).await;
    assert!(answer["en"].as_str().unwrap().contains("admin, supervisor or cadre"), "{answer}");
    let malformed = huhujian_tests::http()
        .post(server.url("/api/admin/users/s1"))
        .bearer_auth(&admin.token)
        .body("{name:")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(user(&admin, "s1").await["name"], "赵新", "the refused rename was not kept");
    assert_eq!(login(&server, "s1", PASSWORD).await, 200, "nor the password");

    // A password reset ends the user's sessions and clears a lock.
    for _ in 0..server::auth::FREE_FAILURES {
        login(&server, "s1", "wrong").await;
    }
    assert_eq!(login(&server, "s1", PASSWORD).await, 429);
    assert!(user(&admin, "s1").await["locked_until"].is_i64());
    let (status, row) = post(&server, token, "/api/admin/users/s1", &json!({"password": "brand new secret"})).await;
    assert_eq!(status, 200);
    assert_eq!((row["failed_logins"].as_i64(), &row["locked_until"]), (Some(0), &Value::Null));
    assert_eq!(s1.get("/api/me").await.status(), 401, "old sessions end");
    assert_eq!(login(&server, "s1", PASSWORD).await, 401);
    assert_eq!(login(&server, "s1", "brand new secret").await, 200);

    // Unlock alone.
    for _ in 0..server::auth::FREE_FAILURES {
        login(&server, "c1", "wrong").await;
    }
    assert_eq!(login(&server, "c1", PASSWORD).await, 429);
    let (status, row) = post(&server, token, "/api/admin/users/c1", &json!({"unlock": true})).await;
    assert_eq!((status.as_u16(), &row["locked_until"]), (200, &Value::Null));
    assert_eq!(login(&server, "c1", PASSWORD).await, 200);

    // A cadre who becomes a supervisor loses their assignments; PATCH works too.
    let resp = huhujian_tests::http()
        .patch(server.url("/api/admin/users/c2"))
        .bearer_auth(&admin.token)
        .json(&json!({"role": "supervisor", "area": "site:光禄新村"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let row: Value = resp.json().await.unwrap();
    assert_eq!((row["role"].as_str(), row["assigned"].as_i64()), (Some("supervisor"), Some(0)));
    assert_eq!(assigned(&admin, "?site=光禄新村").await, pairs(&[("H4", &[])]));
    assert_eq!(assigned(&admin, "?cadre=c2").await, []);
    // And a supervisor who becomes a cadre keeps no area.
    let (_, row) = post(&server, token, "/api/admin/users/s1", &json!({"role": "cadre"})).await;
    assert_eq!((row["role"].as_str(), &row["area"]), (Some("cadre"), &Value::Null));
    assert_eq!(
        server.peek().count("SELECT COUNT(*) FROM audit_log WHERE action = 'update_user'"),
        5,
        "rename, reset, unlock, two role changes"
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_its_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let token = Some(admin.token.as_str());
    let mut c1 = Phone::login(&server, "c1", "phone").await;
    c1.want(&["H2"]);
    c1.sync().await;

    let (status, row) = post(&server, token, "/api/admin/users/c1", &json!({"disabled": true})).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["disabled"], true);
    assert_eq!(row["assigned"], 3, "assignments are kept");
    assert_eq!(c1.get("/api/me").await.status(), 401, "the old token is refused");
    assert_eq!(c1.post_sync_raw(Vec::new(), false).await.status(), 401, "sync too");
    let body = json!({"login": "c1", "password": PASSWORD, "device_id": "d1"});
    let (status, answer) = post(&server, None, "/api/login", &body).await;
    assert_eq!((status.as_u16(), answer["error"].as_str()), (403, Some("account_disabled")));
    assert_eq!(login(&server, "c1", "wrong").await, 401, "a wrong password learns nothing");
    assert_eq!(server.peek().count("SELECT COUNT(*) FROM sessions WHERE user_id = 'c1'"), 0);

    // The admin cannot disable themself.
    let (status, answer) = post(&server, token, "/api/admin/users/admin", &json!({"disabled": true})).await;
    assert_eq!((status.as_u16(), answer["error"].as_str()), (400, Some("cannot_disable_self")));
    assert_eq!(admin.get("/api/me").await.status(), 200);

    // Enabled again: logs in.
    let (_, row) = post(&server, token, "/api/admin/users/c1", &json!({"disabled": false})).await;
    assert_eq!(row["disabled"], false);
    let c1 = Phone::login(&server, "c1", "phone").await;
    assert_eq!(c1.list().await, ["H1", "H2", "H3"]);
}

#[tokio::test]
async fn assignments_are_listed_by_site_and_changed_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let token = Some(admin.token.as_str());

    let view: Value = admin.get_json("/api/admin/assignments?site=阳光社区").await;
    assert_eq!(
        view["areas"],
        json!([
            {"site": "光禄新村", "grid": "东片", "households": 1, "unassigned": 0},
            {"site": "阳光社区", "grid": "1栋", "households": 2, "unassigned": 0},
            {"site": "阳光社区", "grid": "2栋", "households": 1, "unassigned": 0},
        ])
    );
    assert_eq!(view["households"][0]["head_name"], "李国华");
    assert_eq!(view["households"][0]["grid"], "1栋");
    assert_eq!(
        assigned(&admin, "?site=阳光社区").await,
        pairs(&[("H1", &["c1", "c2"]), ("H2", &["c1"]), ("H3", &["c1"])])
    );
    assert_eq!(assigned(&admin, "?site=阳光社区&grid=2栋").await, pairs(&[("H3", &["c1"])]));
    assert_eq!(
        assigned(&admin, "?cadre=c2").await,
        pairs(&[("H4", &["c2"]), ("H1", &["c1", "c2"])]),
        "by site: 光禄新村 first"
    );
    assert_eq!(assigned(&admin, "?site=&grid=").await.len(), 4, "empty is no filter");
    let areas: Value = admin.get_json("/api/admin/assignments?areas_only=true").await;
    assert_eq!((areas["areas"].clone(), areas["households"].as_array().unwrap().len()), (view["areas"].clone(), 0));
    let before = assigned(&admin, "").await;

    // A bad item anywhere: nothing changes, and the error names the item.
    let unknown = json!([
        {"household_id": "H2", "user_id": "c2"},
        {"household_id": "H1", "user_id": "c1", "remove": true},
        {"household_id": "H9", "user_id": "c2"},
    ]);
    let (status, answer) = post(&server, token, "/api/admin/assignments", &unknown).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["en"], "Item 3 (assign H9 ↔ c2): Household H9 does not exist");
    assert_eq!(answer["zh"], "第 3 项（分配户 H9 ↔ c2）：户 H9 不存在");
    let not_cadre = json!([{"household_id": "H2", "user_id": "c2"}, {"household_id": "H3", "user_id": "s1"}]);
    let (status, answer) = post(&server, token, "/api/admin/assignments", &not_cadre).await;
    assert_eq!((status.as_u16(), answer["error"].as_str()), (400, Some("not_a_cadre")));
    assert!(answer["en"].as_str().unwrap().starts_with("Item 2 "), "{answer}");
    let malformed = json!([{"household_id": "H2", "user_id": "c2"}, {"household_id": "H3"}]);
    let (status, answer) = post(&server, token, "/api/admin/assignments", &malformed).await;
    assert_eq!((status.as_u16(), answer["error"].as_str()), (400, Some("bad_json")));
    assert!(answer["en"].as_str().unwrap().starts_with("Item 2: "), "{answer}");
    assert_eq!(assigned(&admin, "").await, before, "nothing changed");

    // A good list: applied together, with what it did.
    let good = json!([
        {"household_id": "H2", "user_id": "c2"},
        {"household_id": "H3", "user_id": "c2"},
        {"household_id": "H1", "user_id": "c1", "remove": true},
        {"household_id": "H1", "user_id": "c2"},
    ]);
    let (status, report) = post(&server, token, "/api/admin/assignments", &good).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report, json!({"added": 2, "removed": 1, "unchanged": 1}));
    assert_eq!(
        assigned(&admin, "").await,
        pairs(&[("H4", &["c2"]), ("H1", &["c2"]), ("H2", &["c1", "c2"]), ("H3", &["c1", "c2"])])
    );
    let c2 = Phone::login(&server, "c2", "phone").await;
    assert_eq!(c2.list().await, ["H4", "H1", "H2", "H3"], "c2 now visits every household");

    // One object still works (204); an empty list changes nothing.
    let one = json!({"household_id": "H4", "user_id": "c1"});
    assert_eq!(post(&server, token, "/api/admin/assignments", &one).await.0, 204);
    assert_eq!(assigned(&admin, "?cadre=c1").await.len(), 3, "H2, H3, H4");
    let (status, report) = post(&server, token, "/api/admin/assignments", &json!([])).await;
    assert_eq!((status.as_u16(), report), (200, json!({"added": 0, "removed": 0, "unchanged": 0})));

    // Admins only.
    assert_eq!(post(&server, Some(&c2.token), "/api/admin/assignments", &good).await.0, 403);
    assert_eq!(post(&server, None, "/api/admin/assignments", &good).await.0, 401);
}
