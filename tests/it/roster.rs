//! Roster import: every bad row reported with its line number, and then nothing of the
//! file imported; a good file creates households, members and assignments; an Excel
//! workbook and a CSV saved by Excel in GBK import as a UTF-8 CSV does.

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
    let resp = huhujian_tests::http()
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
    let resp = admin.import_roster(good).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let c1 = Phone::login(&server, "c1", "phone").await;
    assert!(c1.list().await.contains(&"H9".to_owned()));

    // Only admins import.
    let resp = huhujian_tests::http()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&c1.token)
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

/// A roster that gives H7 three members (no 成员编号 column), and c1 records work and a
/// move on them.
const FIRST: &str = "户编码,县,乡镇,安置点,网格,住址,迁出乡镇,帮扶干部,姓名,性别,出生日期,劳动能力
H7,云岭县,栋川镇,阳光社区,3栋,3栋301,老寨乡,c1,张三,男,1980-01-01,普通劳动力
H7,云岭县,栋川镇,阳光社区,3栋,3栋301,老寨乡,c1,李四,女,1985-02-02,普通劳动力
H7,云岭县,栋川镇,阳光社区,3栋,3栋301,老寨乡,c1,王五,男,1990-03-03,普通劳动力
";

/// The same household re-exported: shorter, in another order, with fewer columns and
/// empty cells.
const SECOND: &str = "户编码,安置点,网格,姓名,性别,出生日期,帮扶干部
H7,阳光社区,3栋,李四,,,c1
H7,阳光社区,3栋,张三,,1980-01-01,c1
";

#[tokio::test]
async fn a_reimport_matches_members_and_clears_nothing() {
    use shared::{EmploymentStatus, MemberStatus, Stamp, VisitMode};
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let resp = admin.import_roster(FIRST).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let mut c1 = Phone::login(&server, "c1", "phone").await;
    c1.want(&["H7"]);
    c1.sync().await;
    let h = c1.docs["H7"].household().unwrap();
    let id_of = |name: &str| h.members.iter().find(|(_, m)| m.name == name).unwrap().0.clone();
    let (zhang, wang) = (id_of("张三"), id_of("王五"));
    c1.docs
        .get_mut("H7")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_000), |h| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            let job = v.employment.entry(zhang.clone()).or_default();
            job.status = Some(EmploymentStatus::Employed);
            job.monthly_income = Some(4200);
            h.members.get_mut(&wang).unwrap().status = Some(MemberStatus::MovedOut);
        })
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());

    // The preview of the second sheet: nothing it gives differs from what is stored.
    let preview = huhujian_tests::http()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&admin.token)
        .body(SECOND)
        .send()
        .await
        .unwrap();
    let status = preview.status();
    let plan: serde_json::Value = preview.json().await.unwrap();
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["imported"], false);
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan}");
    assert_eq!(admin.import_roster(SECOND).await.status(), 200);

    c1.sync().await;
    let after = c1.docs["H7"].household().unwrap();
    assert_eq!(after.members[&zhang].name, "张三", "the job's member is still 张三");
    assert_eq!(after.visits["2026-11"].employment[&zhang].monthly_income, Some(4200));
    assert_eq!(after.members[&wang].status, Some(MemberStatus::MovedOut), "a move is not undone");
    assert_eq!(after.members.len(), 3, "a member missing from the sheet stays");
    let li = &after.members[&id_of("李四")];
    assert_eq!((li.sex, li.birth_date.map(|d| d.to_string())), (Some(shared::Sex::Female), Some("1985-02-02".into())));
    assert_eq!(
        (after.facts.county.as_str(), after.facts.address.as_str(), after.facts.origin_township.as_str()),
        ("云岭县", "3栋301", "老寨乡"),
        "absent columns clear nothing"
    );
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    assert!(s1.list().await.contains(&"H7".to_owned()), "the supervisor still sees it");

    // A change is shown before it is made, and a preview that went stale is refused.
    // (A new name is matched by 成员编号: by name, it would be a new member.)
    let renamed = format!("户编码,安置点,网格,成员编号,姓名\nH7,阳光社区,3栋,{zhang},张叁\n");
    let plan: serde_json::Value = huhujian_tests::http()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&admin.token)
        .body(renamed.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{plan}");
    assert_eq!((changes[0]["before"].as_str(), changes[0]["after"].as_str()), (Some("张三"), Some("张叁")));
    // A visit or a fact the sheet does not give, synced meanwhile, changes nothing of
    // what the import does: the confirmation stands.
    c1.docs
        .get_mut("H7")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_100), |h| h.facts.address = "3栋302".into())
        .unwrap();
    c1.sync().await;
    let confirm = |body: String, digest: String| {
        let (url, token) = (server.url(&format!("/api/admin/roster?confirm={digest}")), admin.token.clone());
        async move { huhujian_tests::http().post(url).bearer_auth(token).body(body).send().await.unwrap() }
    };
    let done = confirm(renamed.clone(), plan["confirm"].as_str().unwrap().to_owned()).await;
    assert_eq!(done.status(), 200);
    c1.sync().await;
    let h7 = c1.docs["H7"].household().unwrap();
    assert_eq!((h7.members[&zhang].name.as_str(), h7.facts.address.as_str()), ("张叁", "3栋302"));
    // A value the sheet changes, changed by a phone after the preview: refused.
    let back = format!("户编码,安置点,网格,成员编号,姓名\nH7,阳光社区,3栋,{zhang},张三\n");
    let plan: serde_json::Value = huhujian_tests::http()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(&admin.token)
        .body(back.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c1.docs
        .get_mut("H7")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_200), |h| h.members.get_mut(&zhang).unwrap().name = "张参".into())
        .unwrap();
    c1.sync().await;
    let stale = confirm(back, plan["confirm"].as_str().unwrap().to_owned()).await;
    assert_eq!(stale.status(), 409);
    assert_eq!(stale.json::<serde_json::Value>().await.unwrap()["error"], "roster_changed");
}

#[tokio::test]
async fn values_over_a_limit_are_row_errors_with_line_column_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let before = server.peek().documents();
    let long_address = "路".repeat(2001);
    let long_name = "名".repeat(100_000);
    let mut csv =
        format!("户编码,安置点,网格,住址,姓名\nH8,阳光社区,1栋,{long_address},甲\nH9,阳光社区,1栋,,{long_name}\n");
    for n in 0..61 {
        // Lines 4 to 64: the 61st member is on line 64.
        csv.push_str(&format!("H10,阳光社区,1栋,,成员{n}\n"));
    }
    let resp = admin.import_roster(&csv).await;
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    let rows = body["rows"].as_array().unwrap();
    let line = |n: u64| rows.iter().find(|r| r["line"] == n).unwrap_or_else(|| panic!("no error on line {n}: {body}"));
    assert!(line(2)["zh"].as_str().unwrap().contains("住址") && line(2)["zh"].as_str().unwrap().contains("2000"));
    assert!(line(3)["en"].as_str().unwrap().contains("name") && line(3)["en"].as_str().unwrap().contains("2000"));
    assert!(line(64)["zh"].as_str().unwrap().contains("60"), "the 61st member: {body}");
    assert_eq!(server.peek().documents(), before, "nothing imported");
}

/// POSTs `bytes` as a roster preview: the status and the JSON answer.
async fn preview(server: &huhujian_tests::TestServer, token: &str, bytes: Vec<u8>) -> (u16, serde_json::Value) {
    let resp = huhujian_tests::http()
        .post(server.url("/api/admin/roster"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A workbook as a county office makes one: a 说明 sheet first, the roster on the
/// second sheet below a title row, 户编码 and 身份证号 typed as numbers or text, birth
/// dates as Excel dates. Its bad cells are named by sheet, row and column; fixed, it
/// imports with the numbers and dates as written.
#[tokio::test]
async fn an_excel_workbook_imports_and_its_errors_name_sheet_row_and_column() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let before = server.peek().documents();
    let book = |bad_birth: bool| {
        let mut book = Workbook::new();
        let notes = book.add_worksheet().set_name("说明").unwrap();
        notes.write_string(0, 0, "每行一名成员").unwrap();
        let ws = book.add_worksheet().set_name("花名册").unwrap();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        // Excel row 2 (index 1) is the header: the title sits above it.
        ws.write_string(0, 0, "光禄新村花名册").unwrap();
        for (c, h) in ["户编码", "安置点", "网格", "姓名", "出生日期", "身份证号", "帮扶干部"].iter().enumerate()
        {
            ws.write_string(1, c as u16, *h).unwrap();
        }
        /// 户编码 (a number), name, birth date, ID number.
        type Cells<'a> = (f64, &'a str, (u16, u8, u8), &'a str);
        let rows: [Cells; 2] = [
            (5323250301901.0, "罗一", (1980, 1, 1), ""),
            (5323250301901.0, "罗二", (1949, 12, 31), "11010519491231002X"),
        ];
        for (i, (no, name, (y, m, d), idn)) in rows.iter().enumerate() {
            let r = 2 + i as u32;
            ws.write_number(r, 0, *no).unwrap();
            ws.write_string(r, 1, "光禄新村").unwrap();
            ws.write_string(r, 2, "东片").unwrap();
            ws.write_string(r, 3, *name).unwrap();
            ws.write_datetime_with_format(r, 4, ExcelDateTime::from_ymd(*y, *m, *d).unwrap(), &date).unwrap();
            ws.write_string(r, 5, *idn).unwrap();
            ws.write_string(r, 6, "c1").unwrap();
        }
        if bad_birth {
            // Excel row 5: a birth date typed as text, wrongly; an unknown cadre; an
            // ID number typed as a number (Excel keeps 15 of its 18 digits).
            ws.write_number(4, 0, 5323250301901.0).unwrap();
            ws.write_string(4, 1, "光禄新村").unwrap();
            ws.write_string(4, 2, "东片").unwrap();
            ws.write_string(4, 3, "罗三").unwrap();
            ws.write_string(4, 4, "1990年3月").unwrap();
            ws.write_string(4, 6, "nobody").unwrap();
            ws.write_number(4, 5, 532325199001011234.0).unwrap();
        }
        book.save_to_buffer().unwrap()
    };
    let (status, body) = preview(&server, &admin.token, book(true)).await;
    assert_eq!(status, 422, "{body}");
    let rows = body["rows"].as_array().unwrap();
    let places: Vec<(&str, u64, &str)> = rows
        .iter()
        .map(|r| (r["sheet"].as_str().unwrap(), r["line"].as_u64().unwrap(), r["column"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        places[..3],
        [("花名册", 5, "身份证号"), ("花名册", 5, "帮扶干部"), ("花名册", 5, "出生日期")],
        "{body}"
    );
    assert!(rows[0]["zh"].as_str().unwrap().contains("15 位"), "{body}");
    assert_eq!(server.peek().documents(), before, "nothing imported");

    let (status, body) = preview(&server, &admin.token, book(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["households"].as_u64(), body["members"].as_u64()), (Some(1), Some(2)), "{body}");
    let resp = admin.import_roster_bytes(book(false)).await;
    assert_eq!(resp.status(), 200);
    let mut c1 = Phone::login(&server, "c1", "phone").await;
    c1.want(&["5323250301901"]);
    c1.sync().await;
    let h = c1.docs["5323250301901"].household().unwrap();
    let mut people: Vec<(String, String, String)> = h
        .members
        .values()
        .map(|m| (m.name.clone(), m.birth_date.map(|d| d.to_string()).unwrap_or_default(), m.id_number.clone()))
        .collect();
    people.sort();
    assert_eq!(
        people,
        [
            ("罗一".to_owned(), "1980-01-01".to_owned(), String::new()),
            ("罗二".to_owned(), "1949-12-31".to_owned(), "11010519491231002X".to_owned())
        ],
        "the number is the registry number, not 5.3e12; the dates are dates"
    );
}

/// A CSV saved by Excel on a Chinese Windows ("CSV (逗号分隔)") is GBK: it previews and
/// imports as its UTF-8 twin does, with the same digest; bytes in no encoding it knows
/// are refused with what to do, and nothing is stored.
#[tokio::test]
async fn a_gbk_csv_imports_as_its_utf8_twin_and_junk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let before = server.peek().documents();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(FIRST);
    assert!(!unmappable && std::str::from_utf8(&gbk).is_err());
    let (status, as_gbk) = preview(&server, &admin.token, gbk.to_vec()).await;
    assert_eq!(status, 200, "{as_gbk}");
    let (_, as_utf8) = preview(&server, &admin.token, FIRST.as_bytes().to_vec()).await;
    assert_eq!(as_gbk, as_utf8, "the same preview, digest included");

    let (status, junk) = preview(&server, &admin.token, b"\x81\x20\xff\xfe,,\n".to_vec()).await;
    assert_eq!(status, 400, "{junk}");
    assert_eq!(junk["error"], "bad_encoding");
    assert!(junk["zh"].as_str().unwrap().contains("GBK") && junk["en"].as_str().unwrap().contains("UTF-8"), "{junk}");
    assert_eq!(server.peek().documents(), before, "nothing imported");

    let resp = admin.import_roster_bytes(gbk.to_vec()).await;
    assert_eq!(resp.status(), 200);
    let mut c1 = Phone::login(&server, "c1", "phone").await;
    c1.want(&["H7"]);
    c1.sync().await;
    let names: std::collections::BTreeSet<String> =
        c1.docs["H7"].household().unwrap().members.values().map(|m| m.name.clone()).collect();
    assert_eq!(names, ["张三", "李四", "王五"].map(String::from).into());
}
