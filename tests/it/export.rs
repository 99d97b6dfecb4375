//! The period export: `export.xlsx` (户表, 成员, 就业, 指标) and `export/{sheet}.csv` over
//! a November recorded by two cadres. Each sheet has the rows of the caller's scope,
//! ID numbers are masked unless an admin unmasks (audited), and each CSV holds exactly
//! the cells of its XLSX sheet.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use huhujian_tests::{Phone, TestServer};
use shared::{
    Channel, Date, EmploymentStatus, Guarantees, LabourCapacity, Member, MemberStatus, PlaceScope, RiskSignal, Stamp,
    VisitMode,
};

use crate::roster_server;

/// A valid ID number from its first 17 characters.
fn id_no(first17: &str) -> String {
    let digits: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", shared::idcard::check_char(&digits))
}

/// (household, member, ID number) for every roster member.
fn ids() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("H1", "a", id_no("53232519800501123")),
        ("H1", "b", id_no("53232519820302124")),
        ("H2", "a", id_no("53232519750101111")),
        ("H3", "a", id_no("53232519900606122")),
        ("H4", "a", id_no("53232519700707131")),
    ]
}

fn masked(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

/// November 2026: c1 visits H1 in person (one employed, one seeking; a child added, a
/// member moved out) and H2 by phone (seeking only), leaves H3 unvisited; c2 visits H4.
async fn november(server: &TestServer) {
    let mut c1 = Phone::login(server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(server, "c2", "phone-c2").await;
    c1.want(&["H1", "H2", "H3"]);
    c2.want(&["H4"]);
    c1.sync().await;
    c2.sync().await;
    let s1 = Stamp::new("c1", "李明", 1_795_000_000);
    let s2 = Stamp::new("c2", "张华", 1_795_000_000);
    for (hid, mid, id) in ids() {
        let (phone, stamp) = if hid == "H4" { (&mut c2, &s2) } else { (&mut c1, &s1) };
        phone.docs.get_mut(hid).unwrap().edit(stamp, |h| h.members.get_mut(mid).unwrap().id_number = id).unwrap();
    }
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&s1, |h| {
            h.members.insert(
                "d".into(),
                Member {
                    name: "李小龙".into(),
                    birth_date: Date::new(2015, 9, 1),
                    labour: Some(LabourCapacity::None),
                    in_school: true,
                    ..Default::default()
                },
            );
            h.members.insert(
                "c".into(),
                Member {
                    name: "李大妹".into(),
                    id_number: id_no("53232520000101122"),
                    status: Some(MemberStatus::MovedOut),
                    ..Default::default()
                },
            );
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.date = Date::new(2026, 11, 12);
            v.visitors.insert("c1".into(), "李明".into());
            let a = v.employment.entry("a".into()).or_default();
            a.status = Some(EmploymentStatus::Employed);
            a.channel = Some(Channel::OutOfProvince);
            a.industry = "制造业".into();
            a.place_scope = Some(PlaceScope::OutOfProvince);
            a.place = "浙江宁波".into();
            a.employer = "宁波某电子厂".into();
            a.monthly_income = Some(5200);
            a.returned = Some(false);
            v.employment.entry("b".into()).or_default().status = Some(EmploymentStatus::Seeking);
            v.income.wage = Some(5200);
            v.income.transfer = Some(300);
            v.guarantees = Guarantees { medical: Some(false), ..Default::default() };
            v.risks.extend([RiskSignal::Illness, RiskSignal::IncomeDrop]);
            // October's income, by phone: November's per-capita figure rests on the 12
            // months to the end of October.
            let o = h.visits.entry("2026-10".into()).or_default();
            o.mode = Some(VisitMode::Phone);
            o.date = Date::new(2026, 10, 12);
            o.visitors.insert("c1".into(), "李明".into());
            o.income.wage = Some(5200);
            o.income.transfer = Some(300);
        })
        .unwrap();
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&s1, |h| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::Phone);
            v.date = Date::new(2026, 11, 20);
            v.visitors.insert("c1".into(), "李明".into());
            v.employment.entry("a".into()).or_default().status = Some(EmploymentStatus::Seeking);
        })
        .unwrap();
    c2.docs
        .get_mut("H4")
        .unwrap()
        .edit(&s2, |h| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.date = Date::new(2026, 11, 5);
            v.visitors.insert("c2".into(), "张华".into());
            let a = v.employment.entry("a".into()).or_default();
            a.status = Some(EmploymentStatus::Employed);
            a.channel = Some(Channel::WelfarePost);
            a.monthly_income = Some(800);
            v.income.wage = Some(800);
            let o = h.visits.entry("2026-10".into()).or_default();
            o.mode = Some(VisitMode::Phone);
            o.date = Date::new(2026, 10, 5);
            o.visitors.insert("c2".into(), "张华".into());
            o.income.wage = Some(800);
        })
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());
    assert!(c2.sync().await.refused.is_empty());
}

type Rows = Vec<Vec<String>>;

/// A downloaded workbook: every sheet's cells as strings (header first), in order.
struct Book {
    xlsx: Xlsx<Cursor<Vec<u8>>>,
    sheets: Vec<(String, Rows)>,
}

impl Book {
    fn sheet(&self, name: &str) -> &Rows {
        &self.sheets.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no sheet {name}")).1
    }
}

async fn workbook(phone: &Phone, query: &str) -> Book {
    let resp = phone.get(&format!("/api/export.xlsx?{query}")).await;
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"huhujian-2026-11.xlsx\"");
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut xlsx: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let mut sheets = Vec::new();
    for name in xlsx.sheet_names() {
        let range = xlsx.worksheet_range(&name).unwrap();
        assert_eq!(range.start(), Some((0, 0)), "{name} starts at A1");
        let rows = range.rows().map(|r| r.iter().map(Data::to_string).collect()).collect();
        sheets.push((name, rows));
    }
    Book { xlsx, sheets }
}

async fn csv_sheet(phone: &Phone, sheet: &str, query: &str) -> Rows {
    let resp = phone.get(&format!("/api/export/{sheet}.csv?{query}")).await;
    assert_eq!(resp.status(), 200, "{sheet}");
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.unwrap();
    let body = text.strip_prefix('\u{feff}').expect("BOM for Excel");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

fn column(rows: &Rows, title: &str) -> Vec<String> {
    let i = rows[0].iter().position(|h| h == title).unwrap_or_else(|| panic!("no column {title}"));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn a_site_supervisor_gets_four_sheets_of_their_site_with_masked_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    november(&server).await;
    let s1 = Phone::login(&server, "s1", "desk").await;
    let mut book = workbook(&s1, "period=2026-11").await;
    let names: Vec<&str> = book.sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["户表", "成员", "就业", "指标", "监测帮扶", "帮扶措施"]);

    let households = book.sheet("户表");
    assert_eq!(
        households[0],
        strs(&[
            "户编码",
            "县",
            "乡镇",
            "安置点",
            "网格",
            "住址",
            "户主",
            "户类型",
            "监测对象类型",
            "在册人数",
            "劳动力人数",
            "本月走访方式",
            "走访日期",
            "走访干部",
            "就业人数",
            "零就业家庭",
            "月工资性收入",
            "年人均纯收入",
            "两不愁三保障预警",
            "风险信号",
            "佐证照片数",
            "户主签字确认",
            "走访定位",
        ])
    );
    assert_eq!(column(households, "户编码"), ["H1", "H2", "H3"], "one row per household of 阳光社区, no H4");
    assert_eq!(
        households[1],
        strs(&[
            "H1",
            "云岭县",
            "栋川镇",
            "阳光社区",
            "1栋",
            "1栋101",
            "李国华",
            "脱贫户",
            "",
            "3",
            "2",
            "入户",
            "2026-11-12",
            "李明",
            "1",
            "否",
            "5200",
            "22000", // (5200 + 300) × 12 ÷ 3 present members
            "是",
            "因病、收入大幅缩减",
            "0",
            "否",
            "",
        ])
    );
    assert_eq!(column(households, "本月走访方式"), ["入户", "电话", ""]);
    assert_eq!(column(households, "零就业家庭"), ["否", "是", ""], "H3 has no visit: not recorded");
    assert_eq!(column(households, "就业人数"), ["1", "0", ""]);

    let members = book.sheet("成员");
    assert_eq!(
        members[0],
        strs(&["户编码", "成员编号", "姓名", "性别", "出生日期", "与户主关系", "身份证号", "劳动能力", "是否劳动力"])
    );
    let ids = ids();
    assert_eq!(
        members[1..].iter().map(|r| format!("{}/{}", r[0], r[1])).collect::<Vec<_>>(),
        ["H1/a", "H1/b", "H1/d", "H2/a", "H3/a"],
        "present members only: H1's moved-out member is not listed"
    );
    assert_eq!(
        members[1],
        strs(&["H1", "a", "李国华", "男", "1980-05-01", "户主", &masked(&ids[0].2), "普通劳动力", "是"])
    );
    assert_eq!(members[3][6], "", "no ID number recorded");
    assert_eq!(members[3][8], "否", "a child in school is not labour force");
    let every_cell: Vec<&String> = book.sheets.iter().flat_map(|(_, rows)| rows.iter().flatten()).collect();
    for (_, _, id) in &ids {
        assert!(!every_cell.iter().any(|c| c.contains(id.as_str())), "{id} appears unmasked");
    }

    let employment = book.sheet("就业");
    assert_eq!(
        employment[0],
        strs(&[
            "户编码",
            "成员编号",
            "姓名",
            "就业状态",
            "就业渠道",
            "行业",
            "务工地点范围",
            "务工地点",
            "用工单位",
            "月收入(元)",
            "当月返乡",
        ])
    );
    assert_eq!(employment.len(), 4, "H1 a, H1 b, H2 a: {employment:?}");
    assert_eq!(
        employment[1],
        strs(&["H1", "a", "李国华", "已就业", "省外务工", "制造业", "省外", "浙江宁波", "宁波某电子厂", "5200", "否"])
    );
    assert_eq!(employment[3][..4], strs(&["H2", "a", "张志强", "未就业(有意愿)"]));

    let indicators = book.sheet("指标");
    assert_eq!(
        indicators[0],
        strs(&[
            "范围",
            "户数",
            "走访户数",
            "户户见覆盖率",
            "户主签字确认户数",
            "劳动力",
            "就业劳动力",
            "劳动力就业率",
            "零就业家庭",
            "一户一人就业率",
            "低收入有劳动力户",
            "两不愁三保障预警",
            "人均纯收入",
            "人均纯收入增长",
        ])
    );
    assert_eq!(indicators.len(), 3, "阳光社区 and 合计: {indicators:?}");
    let expected = ["3", "1", "0.3333", "0", "3", "1", "0.3333", "1", "0.5", "0", "1", "", ""];
    assert_eq!(indicators[1][0], "阳光社区");
    assert_eq!(indicators[1][1..], strs(&expected));
    assert_eq!(indicators[2][0], "合计");
    assert_eq!(indicators[2][1..], strs(&expected));

    // Formats: bold frozen header, rates as numbers with a percent format.
    let styles = book.xlsx.worksheet_style("指标").unwrap();
    assert!(styles.get((0, 0)).and_then(|s| s.font.as_ref()).is_some_and(|f| f.is_bold()), "bold header");
    let rate = styles.get((1, 3)).and_then(|s| s.number_format.as_ref()).map(|f| f.format_code.clone());
    assert_eq!(rate.as_deref(), Some("0.00%"));
    let coverage = &book.xlsx.worksheet_range("指标").unwrap()[(1, 3)];
    assert!(matches!(coverage, Data::Float(x) if (x - 0.3333).abs() < 1e-12), "{coverage:?}");

    // Each CSV sheet holds exactly the XLSX sheet's cells.
    for (slug, name) in [("households", "户表"), ("members", "成员"), ("employment", "就业"), ("indicators", "指标")]
    {
        assert_eq!(&csv_sheet(&s1, slug, "period=2026-11").await, book.sheet(name), "{slug}.csv");
    }
}

#[tokio::test]
async fn an_admin_sees_every_site_and_may_unmask_which_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    november(&server).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let audited = || server.peek().count("SELECT COUNT(*) FROM audit_log WHERE action = 'export_unmasked'");

    let masked_book = workbook(&admin, "period=2026-11").await;
    assert_eq!(audited(), 0, "a masked export is not audited");
    assert_eq!(column(masked_book.sheet("户表"), "户编码"), ["H4", "H1", "H2", "H3"], "site, grid, id order");

    let book = workbook(&admin, "period=2026-11&unmask=1").await;
    assert_eq!(audited(), 1);
    let detail = server.peek().texts("SELECT user_id || ' ' || detail FROM audit_log WHERE action = 'export_unmasked'");
    assert_eq!(detail, ["admin export.xlsx, period 2026-11, 4 households"]);
    let members = book.sheet("成员");
    let mut listed: Vec<String> = column(members, "身份证号").into_iter().filter(|s| !s.is_empty()).collect();
    listed.sort();
    let mut full: Vec<String> = ids().into_iter().map(|(_, _, id)| id).collect();
    full.sort();
    assert_eq!(listed, full, "every recorded ID number in full");

    let indicators = book.sheet("指标");
    assert_eq!(column(indicators, "范围"), ["光禄新村", "阳光社区", "合计"]);
    assert_eq!(indicators[1][1..4], strs(&["1", "1", "1"]), "光禄新村: visited in person, 100 %");
    let total = &indicators[3];
    // H4 lives on 800 yuan a month: 9,600 a year, a low-income labour household.
    assert_eq!(total[1..11], strs(&["4", "2", "0.5", "0", "4", "2", "0.5", "1", "0.6667", "1"]));
    // The same numbers as the dashboard's.
    let report: serde_json::Value = admin.get_json("/api/indicators?period=2026-11").await;
    let i = &report["indicators"];
    for (col, value) in
        [(1, &i["households"]), (2, &i["visited_in_person"]), (4, &i["signed"]), (5, &i["labour_force"])]
    {
        assert_eq!(total[col], value.to_string(), "{}", indicators[0][col]);
    }
    assert_eq!(total[6], i["employed_labour"].to_string());
    assert_eq!(total[8], i["zero_employment"].to_string());
    assert_eq!(total[3], report["coverage"].to_string());

    let csv = csv_sheet(&admin, "members", "period=2026-11&unmask=1").await;
    assert_eq!(&csv, members, "the unmasked CSV equals the unmasked sheet");
    assert_eq!(audited(), 2);

    // export.csv is unchanged: the flat members table, unmasked for an admin.
    let flat = admin.get("/api/export.csv?period=2026-11&unmask=1").await.text().await.unwrap();
    let line = format!(
        "2026-11,H1,云岭县,栋川镇,阳光社区,1栋,1栋101,入户,2026-11-12,a,李国华,男,1980-05-01,户主,{},普通劳动力,是,\
         已就业,省外务工,制造业,省外,浙江宁波,宁波某电子厂,5200,否",
        ids()[0].2
    );
    assert!(flat.lines().any(|l| l == line), "{flat}");
    assert_eq!(flat.lines().count(), 7, "header and six present members");
    assert_eq!(audited(), 3);
}

#[tokio::test]
async fn who_may_export_what() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let c1 = Phone::login(&server, "c1", "phone-c1").await;
    let s1 = Phone::login(&server, "s1", "desk").await;
    for path in ["/api/export.xlsx?period=2026-11", "/api/export/members.csv?period=2026-11"] {
        assert_eq!(c1.get(path).await.status(), 403, "cadre: {path}");
    }
    for path in ["/api/export.xlsx?period=2026-11&unmask=1", "/api/export/households.csv?unmask=1"] {
        let resp = s1.get(path).await;
        assert_eq!(resp.status(), 403, "{path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["en"], "Only an admin can export full ID numbers");
    }
    for path in ["/api/export.xlsx?period=2026-13", "/api/export/indicators.csv?period=11-2026"] {
        let resp = s1.get(path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "bad_period", "{path}");
    }
    for path in ["/api/export/visits.csv", "/api/export/members.xlsx", "/api/export/members"] {
        let resp = s1.get(path).await;
        assert_eq!(resp.status(), 404, "{path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "not_found", "{path}");
    }
    let resp = s1.get("/api/export/indicators.csv?period=2026-11").await;
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"huhujian-2026-11-indicators.csv\"");
    assert_eq!(server.peek().count("SELECT COUNT(*) FROM audit_log WHERE action = 'export_unmasked'"), 0);
}

#[tokio::test]
async fn a_workbook_is_sent_as_it_is_and_a_csv_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let s1 = Phone::login(&server, "s1", "desk").await;
    let http = huhujian_tests::http_builder().no_gzip().build().unwrap();
    let encoding = |path: &'static str| {
        let request = http.get(server.url(path)).bearer_auth(&s1.token).header("accept-encoding", "gzip").send();
        async move {
            let resp = request.await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            resp.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned())
        }
    };
    // An XLSX is a zip: gzipping it again would cost the server a core for nothing.
    assert_eq!(encoding("/api/export.xlsx?period=2026-11").await, None);
    assert_eq!(encoding("/api/export/members.csv?period=2026-11").await.as_deref(), Some("gzip"));
}
