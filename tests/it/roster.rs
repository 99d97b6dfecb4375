//! Roster import: every bad row reported with its line number, and then nothing of the
//! file imported; a good file creates households, members and assignments.

use huhujian_tests::Phone;

use crate::roster_server;

#[tokio::test]
async fn a_roster_with_bad_rows_imports_nothing_and_names_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let before = server.peek().documents();
    let csv = "registry_no,site,grid,name,birth_date,id_number,cadre,labour\n\
               H9,光禄新村,东片,罗一,1980-01-01,,c1,full\n\
               H10,光禄新村,东片,罗二,1980-13-01,,c1,full\n\
               H11,光禄新村,东片,罗三,1980-01-01,11010519491231002X,nobody,full\n\
               H12,光禄新村,东片,,1980-01-01,,c1,superhuman\n";
    let resp = reqwest::Client::new()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&admin.token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    let lines: Vec<u64> = body["rows"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    // Line 3: month 13. Line 4: unknown cadre; the ID's birth date differs from 1980-01-01.
    // Line 5: no name, unknown labour capacity.
    assert_eq!(lines, [3, 4, 4, 5, 5], "{body}");
    assert!(body["rows"][0]["zh"].as_str().unwrap().contains("出生日期"));
    assert_eq!(server.peek().documents(), before, "nothing imported");

    let good = "户编码,安置点,网格,姓名,帮扶干部,劳动能力\nH9,光禄新村,东片,罗一,c1,普通劳动力\nH9,光禄新村,东片,罗二,c1,弱劳动力\n";
    let resp = reqwest::Client::new()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&admin.token)
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let c1 = Phone::login(&server, "c1", "phone").await;
    assert!(c1.list().await.contains(&"H9".to_owned()));

    // Only admins import.
    let resp = reqwest::Client::new()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&c1.token)
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}
