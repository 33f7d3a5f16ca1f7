//! The service catalogue end to end: API-V1 shapes, search and paging, refusals, the exchange
//! files, and the guide, notice and bundle pages.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};
use yichuang_domain::catalogue::Catalogue;
use yichuang_domain::catalogue::fixtures::sample_catalogue;
use yichuang_server::catalogue::{FileFormat, export_file, import_catalogue, import_file};

use crate::support::{TestServer, on_each_backend};

async fn seed(s: &TestServer) {
    import_catalogue(
        &s.running.state.db,
        &sample_catalogue(),
        "system:test",
        Utc::now(),
    )
    .await
    .expect("sample catalogue imports");
}

async fn event_count(s: &TestServer) -> usize {
    yichuang_store::events::since(&s.running.state.db, 0, 1_000_000)
        .await
        .unwrap()
        .len()
}

async fn page(s: &TestServer, path: &str) -> (u16, String) {
    let r = s.client.get(s.at(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn fields(v: &Value) -> Vec<&str> {
    v["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

fn codes(v: &Value) -> Vec<&str> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect()
}

/// Every sheet's cells as text, for comparing two workbooks.
fn cells(bytes: &[u8]) -> BTreeMap<String, Vec<Vec<String>>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = BTreeMap::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        let rows = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        out.insert(name, rows);
    }
    out
}

// ---- Reading: public ----

#[tokio::test]
async fn the_item_list_has_the_api_v1_shape_and_pages_and_searches() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, v) = s.get_json("/api/v1/items", None).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["total"], 3);
        assert_eq!(v["per_page"], 20);
        let first = &v["items"][0];
        assert_eq!(first["code"], "SCJG-001");
        assert_eq!(first["name"], "个体工商户设立登记");
        assert_eq!(first["department"], "SCJG");
        assert_eq!(first["kind"], "committed");
        assert_eq!(first["department_name"], "市场监督管理局");

        let (_, v) = s.get_json("/api/v1/items?q=工商户", None).await;
        assert_eq!(
            (v["total"].as_i64(), codes(&v)),
            (Some(2), vec!["SCJG-001", "SCJG-002"])
        );
        let (_, v) = s.get_json("/api/v1/items?q=sw-0", None).await;
        assert_eq!(codes(&v), ["SW-001"]);
        let (_, v) = s.get_json("/api/v1/items?per_page=1&page=2", None).await;
        assert_eq!(
            (v["total"].as_i64(), codes(&v)),
            (Some(3), vec!["SCJG-002"])
        );
        let (_, v) = s.get_json("/api/v1/items?per_page=500", None).await;
        assert_eq!(v["per_page"], 100);
        let (status, v) = s.get_json("/api/v1/items?page=0", None).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&v), ["page"]);
        let (status, _) = s.get_json("/api/v1/items?page=abc", None).await;
        assert_eq!(status, 400);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_item_comes_with_its_guide_fields() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, v) = s.get_json("/api/v1/items/SCJG-001", None).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["statutory_limit_days"], 15);
        assert_eq!(v["committed_limit_days"], 3);
        assert_eq!(v["legal_basis"], "《促进个体工商户发展条例》");
        assert_eq!(v["type"], "licensing");
        assert_eq!(v["type_label"], "行政许可");
        assert_eq!(v["special_procedures"][0]["name"], "现场核查");
        assert_eq!(v["materials"][0]["form"], "original_and_copy");
        assert_eq!(v["materials"][2]["required_if"]["question"], "agent");
        assert_eq!(v["active"], true);
        assert_eq!(v["version"], 1);
        assert_eq!(v["bundles"][0]["code"], "KD");
        let (status, v) = s.get_json("/api/v1/items/NOPE", None).await;
        assert_eq!(status, 404);
        assert!(v["title"].as_str().unwrap().contains("NOPE"));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn departments_regions_and_bundles_are_listed() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (_, v) = s.get_json("/api/v1/departments", None).await;
        assert_eq!(v["departments"][0]["code"], "SCJG");
        assert_eq!(v["departments"][0]["region"], "330102");
        let (_, v) = s.get_json("/api/v1/regions", None).await;
        assert_eq!(v["regions"][1]["parent"], "330100");
        assert_eq!(v["regions"][1]["level_label"], "县（区）");
        let (_, v) = s.get_json("/api/v1/bundles", None).await;
        assert_eq!(v["bundles"][0]["code"], "KD");
        let (status, v) = s.get_json("/api/v1/bundles/KD", None).await;
        assert_eq!(status, 200);
        assert_eq!(v["stages"], json!([["SCJG-001"], ["SW-001"]]));
        assert_eq!(v["shared_materials"][0]["covers"][1]["item"], "SW-001");
        let (status, _) = s.get_json("/api/v1/bundles/NOPE", None).await;
        assert_eq!(status, 404);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_notice_endpoint_lists_the_materials_for_the_answers_given() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, v) = s
            .get_json("/api/v1/items/SCJG-001/notice?agent=yes&kind=person", None)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["complete"], true);
        let got: Vec<&str> = v["materials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["code"].as_str().unwrap())
            .collect();
        assert_eq!(got, ["ID", "FORM", "POA"]);
        assert_eq!(v["materials"][0]["form_label"], "原件及复印件");
        assert_eq!(v["materials"][0]["copies"], 2);

        let (_, v) = s
            .get_json("/api/v1/items/SCJG-001/notice?kind=family", None)
            .await;
        assert_eq!(v["complete"], false);
        assert_eq!(v["missing_answers"][0]["question"], "agent");
        assert_eq!(v["conditional_materials"][0]["code"], "POA");

        let (status, v) = s
            .get_json("/api/v1/items/SCJG-001/notice?agent=maybe", None)
            .await;
        assert_eq!(status, 422);
        assert_eq!(fields(&v), ["answers.agent"]);
        s.stop().await;
    })
    .await;
}

// ---- Refusals without the right account ----

#[tokio::test]
async fn every_catalogue_write_without_login_is_refused_with_401() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let before = event_count(&s).await;
        let item = serde_json::to_value(&sample_catalogue().items[0]).unwrap();
        for (method, path, body) in [
            (
                "POST",
                "/api/v1/departments",
                json!({"code": "X", "name": "某部门"}),
            ),
            (
                "POST",
                "/api/v1/regions",
                json!({"code": "X", "name": "某地", "level": "city"}),
            ),
            ("POST", "/api/v1/items", item.clone()),
            ("PUT", "/api/v1/items/SCJG-001", item.clone()),
            ("POST", "/api/v1/items/SCJG-002/retire", json!({})),
            ("POST", "/api/v1/items/SCJG-002/reactivate", json!({})),
            ("POST", "/api/v1/bundles", json!({})),
            ("PUT", "/api/v1/bundles/KD", json!({})),
            ("POST", "/api/v1/catalogue/import", json!({})),
        ] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let (status, v) = s.send_json(m, path, None, &body).await;
            assert_eq!(status, 401, "{method} {path}: {v}");
            assert_eq!(v["code"], "unauthorized");
            assert_eq!(v["title"], "请先登录");
        }
        assert_eq!(event_count(&s).await, before);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn admin_pages_send_a_visitor_without_a_session_to_the_login_page() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    for path in [
        "/admin/catalogue?q=x",
        "/admin/catalogue/items/new",
        "/admin/catalogue/items/SCJG-001/edit",
    ] {
        let r = s.client.get(s.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        let to = r.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/login?next=/admin/catalogue"), "{to}");
    }
    let r = s
        .client
        .post(s.at("/admin/catalogue/items/SCJG-001/retire"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    s.stop().await;
}

// ---- Exchange files ----

#[tokio::test]
async fn a_json_export_imported_into_an_empty_database_exports_identically() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        seed(&a).await;
        let (status, first) = a
            .get_json("/api/v1/catalogue/export?format=json", None)
            .await;
        assert_eq!(status, 200);
        let bytes = serde_json::to_vec(&first).unwrap();
        a.stop().await;

        let fresh = match a_second_database(&url).await {
            Some(u) => u,
            None => return,
        };
        let b = TestServer::start(&fresh).await;
        let summary = import_file(&b.running.state.db, &bytes, "system:test", Utc::now())
            .await
            .unwrap();
        assert_eq!(summary.items.created, 3);
        let (_, second) = b
            .get_json("/api/v1/catalogue/export?format=json", None)
            .await;
        assert_eq!(first, second);
        let c: Catalogue = serde_json::from_value(second).unwrap();
        assert_eq!(c, sample_catalogue());
        b.stop().await;
    })
    .await;
}

/// Another empty database on the same backend as `url`.
async fn a_second_database(url: &str) -> Option<String> {
    if url.starts_with("sqlite:") {
        Some(yichuang_store::testing::sqlite_url())
    } else {
        yichuang_store::testing::postgres_url().await
    }
}

#[tokio::test]
async fn an_xlsx_export_imported_into_an_empty_database_exports_the_same_cells() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        seed(&a).await;
        let r = a
            .client
            .get(a.at("/api/v1/catalogue/export?format=xlsx"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], FileFormat::Xlsx.mime());
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .ends_with(".xlsx\"")
        );
        let first = r.bytes().await.unwrap().to_vec();
        a.stop().await;

        let Some(fresh) = a_second_database(&url).await else {
            return;
        };
        let b = TestServer::start(&fresh).await;
        import_file(&b.running.state.db, &first, "system:test", Utc::now())
            .await
            .unwrap();
        let second = export_file(&b.running.state.db, FileFormat::Xlsx)
            .await
            .unwrap();
        let (c1, c2) = (cells(&first), cells(&second));
        assert_eq!(c1, c2);
        for sheet in [
            "区域",
            "部门",
            "事项",
            "办理情形",
            "申请材料",
            "特殊环节",
            "一件事",
            "一件事事项",
            "共享材料",
        ] {
            assert!(c1.contains_key(sheet), "missing sheet {sheet}");
        }
        assert_eq!(c1["事项"][0][0], "编码");
        assert_eq!(c1["申请材料"][3][6], "agent=yes");
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn importing_the_same_file_twice_records_no_change_the_second_time() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let db = &s.running.state.db;
        let file = export_file(db, FileFormat::Xlsx).await.unwrap();
        let before = event_count(&s).await;
        let summary = import_file(db, &file, "system:test", Utc::now())
            .await
            .unwrap();
        assert!(!summary.changed());
        assert_eq!(summary.items.unchanged, 3);
        assert_eq!(event_count(&s).await, before);
        s.stop().await;
    })
    .await;
}

/// A workbook with problems on four sheets: unreadable cells, a missing column, references
/// to nothing, and rule violations the domain finds.
fn broken_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheets: [(&str, &[&[&str]]); 4] = [
        ("部门", &[&["编码"], &["SCJG"]]),
        (
            "事项",
            &[
                &[
                    "编码",
                    "名称",
                    "实施部门",
                    "办件类型",
                    "法定办结时限（工作日）",
                    "承诺办结时限（工作日）",
                ],
                &["A-1", "甲事项", "SCJG", "承诺件", "十五", "3"],
                &["A-2", "乙事项", "NOPE", "承诺件", "20", "30"],
            ],
        ),
        (
            "办理情形",
            &[
                &["事项编码", "情形编码", "问题", "选项"],
                &["A-1", "agent", "是否委托", "yes"],
            ],
        ),
        (
            "申请材料",
            &[
                &["事项编码", "材料编码", "材料名称", "份数"],
                &["A-1", "ID", "身份证", "两"],
                &["GHOST", "X", "某材料", "1"],
            ],
        ),
    ];
    for (name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_broken_workbook_is_refused_whole_with_every_error_by_sheet_row_and_column() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let db = &s.running.state.db;
        let before = event_count(&s).await;
        let e = import_file(db, &broken_workbook(), "system:test", Utc::now())
            .await
            .unwrap_err();
        assert_eq!(e.code, "catalogue_import_failed");
        let got: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "部门!1:1",
                "事项!E2",
                "事项!C3",
                "事项!F3",
                "办理情形!D2",
                "申请材料!D2",
                "申请材料!A3",
            ],
            "{e:?}"
        );
        assert!(e.fields[0].message.contains("名称"));
        assert!(e.fields[2].message.contains("NOPE"));
        assert!(e.fields[3].message.contains("不能超过法定办结时限"));
        assert!(e.fields[6].message.contains("GHOST"));
        let now: Catalogue =
            serde_json::from_slice(&export_file(db, FileFormat::Json).await.unwrap()).unwrap();
        assert_eq!(now, Catalogue::default());
        assert_eq!(event_count(&s).await, before);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_that_is_neither_xlsx_nor_json_is_refused_in_chinese() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let e = import_file(
        &s.running.state.db,
        b"code,name\n",
        "system:test",
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "unreadable_file");
    assert!(e.title.contains(".xlsx"));
    let e = import_file(
        &s.running.state.db,
        b"{\"items\": [1]}",
        "system:test",
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "catalogue_import_failed");
    assert!(e.fields[0].message.starts_with("第 1 行"));
    s.stop().await;
}

// ---- Pages ----

#[tokio::test]
async fn the_catalogue_page_lists_searches_and_shows_bundles() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, html) = page(&s, "/catalogue").await;
        assert_eq!(status, 200);
        assert!(html.contains("个体工商户设立登记"));
        assert!(html.contains("承诺件"));
        assert!(html.contains("承诺 3 个工作日（法定 15 个工作日）"));
        assert!(html.contains("共 3 个事项"));
        let (_, html) = page(&s, "/catalogue?q=%E5%8F%98%E6%9B%B4").await;
        assert!(html.contains("共 1 个事项"));
        assert!(html.contains("个体工商户变更登记"));
        let (_, html) = page(&s, "/catalogue?department=SW").await;
        assert!(html.contains("税务登记") && !html.contains("个体工商户设立登记"));
        let (_, html) = page(&s, "/catalogue?view=bundles").await;
        assert!(html.contains("我要开店"));
        assert!(html.contains("分 2 步办理"));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_guide_shows_every_standard_element_and_the_materials_per_situation() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, html) = page(&s, "/catalogue/items/SCJG-001").await;
        assert_eq!(status, 200);
        for label in [
            "事项类型",
            "实施部门",
            "设定依据",
            "受理条件",
            "法定办结时限",
            "承诺办结时限",
            "收费标准",
            "到现场次数",
            "是否网办",
            "特殊环节",
            "办理流程",
            "办理地点",
            "咨询电话",
        ] {
            assert!(html.contains(label), "guide lacks {label}");
        }
        assert!(html.contains("现场核查"));
        assert!(html.contains("食品经营许可证（有效期：5 年）"), "办理结果");
        assert!(html.contains("不收费"));
        assert!(html.contains("市场监督管理局"));
        assert!(html.contains("选择「是」时另需"));
        assert!(html.contains("授权委托书"));
        assert!(html.contains(r#"type="radio" name="agent" value="yes""#));
        assert!(html.contains(r#"action="/catalogue/items/SCJG-001/notice""#));
        let (status, _) = page(&s, "/catalogue/items/NOPE").await;
        assert_eq!(status, 404);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_notice_page_prints_exactly_the_materials_for_the_chosen_situation() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, html) =
            page(&s, "/catalogue/items/SCJG-001/notice?agent=yes&kind=person").await;
        assert_eq!(status, 200);
        assert!(html.contains("一次性告知单"));
        assert!(html.contains("经营者身份证明"));
        assert!(html.contains("授权委托书"));
        assert!(!html.contains("家庭成员关系证明"));
        assert!(html.contains("原件及复印件"));
        assert!(html.contains("data-print"));
        assert!(html.contains("告知人（签字）"));
        assert!(html.contains("个人经营"));

        let (_, html) = page(&s, "/catalogue/items/SCJG-001/notice?agent=no&kind=family").await;
        assert!(!html.contains("授权委托书"));
        assert!(html.contains("家庭成员关系证明"));

        let (_, html) = page(&s, "/catalogue/items/SCJG-001/notice?kind=person").await;
        assert!(html.contains("视情况另需的材料"));
        assert!(html.contains("是否委托他人办理"));

        let (status, html) = page(&s, "/catalogue/items/SCJG-001/notice?agent=maybe").await;
        assert_eq!(status, 422);
        assert!(html.contains("没有选项 maybe"));
        assert!(html.contains("经营者身份证明"));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_bundle_page_shows_the_order_and_lists_shared_materials_once() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let (status, html) = page(&s, "/catalogue/bundles/KD").await;
        assert_eq!(status, 200);
        assert!(html.contains("我要开店"));
        assert!(html.contains("第 1 步"));
        assert!(html.contains("第 2 步"));
        assert!(html.contains("须先办结：个体工商户设立登记"));
        assert!(html.contains("共享材料（只需提交一次）"));
        assert!(html.contains("个体工商户设立登记：经营者身份证明"));
        // The ID card is listed once as shared, not again under each member.
        assert_eq!(html.matches("<td>经营者身份证明").count(), 0);
        s.stop().await;
    })
    .await;
}

// ---- Editing (needs the admin account of the accounts work) ----

#[tokio::test]
async fn an_admin_creates_a_department_and_a_minimal_item_through_the_api() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let token = s.admin_token().await;
        let t = Some(token.as_str());
        let (status, v) = s
            .post_json(
                "/api/v1/departments",
                t,
                &json!({"code": "MZ", "name": "民政局"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "MZ");
        let (status, v) = s
            .post_json(
                "/api/v1/departments",
                t,
                &json!({"code": "MZ", "name": "民政局"}),
            )
            .await;
        assert_eq!(status, 409);
        assert!(v["title"].as_str().unwrap().contains("已存在"));

        let minimal = json!({
            "code": "MZ-001", "name": "婚姻登记", "department": "MZ", "kind": "committed",
            "statutory_limit_days": 20, "committed_limit_days": 1,
            "materials": [{"code": "ID", "name": "身份证"}]
        });
        let (status, v) = s.post_json("/api/v1/items", t, &minimal).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "MZ-001");
        assert_eq!(v["version"], 1);
        assert_eq!(v["materials"][0]["copies"], 1);
        let (status, v) = s.post_json("/api/v1/items", t, &minimal).await;
        assert_eq!(status, 409);
        assert!(v["title"].as_str().unwrap().contains("MZ-001"));

        let (_, v) = s.get_json("/api/v1/items?q=婚姻", None).await;
        assert_eq!(codes(&v), ["MZ-001"]);
        let events = yichuang_store::events::for_subject(&s.running.state.db, "item", "MZ-001")
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor, "admin:admin");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_invalid_item_is_refused_with_every_field_and_nothing_is_stored() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let token = s.admin_token().await;
        let before = event_count(&s).await;
        let bad = json!({
            "code": "BAD 1", "name": "", "department": "NOPE", "kind": "immediate",
            "statutory_limit_days": 5, "committed_limit_days": 2,
            "materials": [{"code": "A", "name": "甲", "copies": 0}, {"code": "A", "name": "乙"}]
        });
        let (status, v) = s.post_json("/api/v1/items", Some(&token), &bad).await;
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["code"], "validation_failed");
        assert_eq!(
            fields(&v),
            [
                "code",
                "name",
                "department",
                "committed_limit_days",
                "materials[0].copies",
                "materials[1].code"
            ]
        );
        assert!(v["errors"][2]["message"].as_str().unwrap().contains("NOPE"));
        let (status, _) = s.get_json("/api/v1/items/BAD%201", None).await;
        assert_eq!(status, 404);
        assert_eq!(event_count(&s).await, before);

        let (status, v) = s
            .post_json("/api/v1/items", Some(&token), &json!({"code": "X"}))
            .await;
        assert_eq!(status, 400);
        assert_eq!(v["code"], "malformed_request");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn replacing_an_item_with_a_stale_version_is_a_conflict() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let token = s.admin_token().await;
        let t = Some(token.as_str());
        let (_, mut item) = s.get_json("/api/v1/items/SCJG-002", None).await;
        item["committed_limit_days"] = json!(2);
        let sr = &s;
        let put = |body: Value| async move {
            sr.send_json(reqwest::Method::PUT, "/api/v1/items/SCJG-002", t, &body)
                .await
        };
        let (status, v) = put(item.clone()).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["version"], 2);
        assert_eq!(v["committed_limit_days"], 2);
        let (status, v) = put(item.clone()).await;
        assert_eq!(status, 409);
        assert_eq!(v["code"], "stale_version");
        let mut no_version = item.clone();
        no_version.as_object_mut().unwrap().remove("version");
        let (status, v) = put(no_version).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&v), ["version"]);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn retiring_hides_an_item_from_the_list_and_reactivating_brings_it_back() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let token = s.admin_token().await;
        let t = Some(token.as_str());
        let (status, v) = s
            .post_json("/api/v1/items/SW-001/retire", t, &json!({}))
            .await;
        assert_eq!(status, 409, "a bundle member stays: {v}");
        let (status, v) = s
            .post_json("/api/v1/items/SCJG-002/retire", t, &json!({}))
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["active"], false);
        let (_, v) = s.get_json("/api/v1/items", None).await;
        assert_eq!(v["total"], 2);
        let (status, _) = s.get_json("/api/v1/items/SCJG-002/notice", None).await;
        assert_eq!(status, 409);
        let (_, v) = s
            .post_json("/api/v1/items/SCJG-002/reactivate", t, &json!({}))
            .await;
        assert_eq!(v["active"], true);
        assert_eq!(v["version"], 3);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_creates_regions_and_bundles_through_the_api() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let token = s.admin_token().await;
        let t = Some(token.as_str());
        let (status, v) = s
            .post_json(
                "/api/v1/regions",
                t,
                &json!({"code": "330102001", "name": "示范街道", "parent": "330102", "level": "township"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let (status, v) = s
            .post_json(
                "/api/v1/regions",
                t,
                &json!({"code": "X1", "name": "错层", "parent": "330102", "level": "city"}),
            )
            .await;
        assert_eq!(status, 422);
        assert_eq!(fields(&v), ["level"]);

        let cycle = json!({
            "code": "LOOP", "name": "循环",
            "items": [{"item": "SCJG-001", "after": ["SCJG-002"]}, {"item": "SCJG-002", "after": ["SCJG-001"]}]
        });
        let (status, v) = s.post_json("/api/v1/bundles", t, &cycle).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&v), ["items"]);
        let parallel = json!({
            "code": "BG", "name": "变更一件事",
            "items": [{"item": "SCJG-002"}, {"item": "SW-001"}]
        });
        let (status, v) = s.post_json("/api/v1/bundles", t, &parallel).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["stages"], json!([["SCJG-002", "SW-001"]]));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_import_endpoint_takes_xlsx_or_json_and_refuses_a_broken_file_whole() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let token = s.admin_token().await;
        let post = |bytes: Vec<u8>, mime: &'static str| {
            s.client
                .post(s.at("/api/v1/catalogue/import"))
                .bearer_auth(&token)
                .header("content-type", mime)
                .body(bytes)
                .send()
        };
        let before = event_count(&s).await;
        let r = post(broken_workbook(), FileFormat::Xlsx.mime())
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"].as_array().unwrap().len(), 7, "{v}");
        assert_eq!(event_count(&s).await, before);

        let json = serde_json::to_vec(&sample_catalogue()).unwrap();
        let r = post(json.clone(), "application/json").await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"]["created"], 3);
        assert_eq!(v["changed"], true);
        let r = post(json, "application/json").await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["changed"], false);
        assert_eq!(v["items"]["unchanged"], 3);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_form_shows_every_problem_next_to_its_field_and_saves_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let c = crate::support::admin_session(&s).await;
        let before = event_count(&s).await;
        let form = [
            ("code", "NEW-1"),
            ("name", ""),
            ("department", "SCJG"),
            ("type", "行政许可"),
            ("kind", "承诺件"),
            ("statutory_limit_days", "10"),
            ("committed_limit_days", "12"),
            // The page's rows (issue 10 item 3): one value of each field per row.
            ("rows", "1"),
            ("m_code", "ID"),
            ("m_name", "身份证"),
            ("m_form", "原件"),
            ("m_code", "X"),
            ("m_name", "某材料"),
            ("m_form", "扫描件"),
            ("m_code", "ID"),
            ("m_name", "重复"),
            ("m_form", "原件"),
        ];
        let r = c
            .post(s.at("/admin/catalogue/items/new"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("事项名称不能为空"));
        assert!(html.contains("不能超过法定办结时限"));
        // Each problem beside its row, in the row's order.
        let beside: Vec<&str> = html
            .split("data-row-error=\"materials\">")
            .skip(1)
            .map(|p| p.split('<').next().unwrap())
            .collect();
        assert_eq!(
            beside,
            [
                "「扫描件」不是有效的取值，应为：原件、复印件、原件及复印件",
                "材料编码 ID 重复出现"
            ],
            "{html}"
        );
        assert!(html.contains("未保存任何内容"));
        assert_eq!(event_count(&s).await, before);

        let good = [
            ("code", "NEW-1"),
            ("name", "新事项"),
            ("department", "SCJG"),
            ("type", "行政许可"),
            ("kind", "即办件"),
            ("statutory_limit_days", "10"),
            ("committed_limit_days", "0"),
            ("rows", "1"),
            ("s_code", "agent"),
            ("s_question", "是否委托"),
            ("s_options", "yes=是;no=否"),
            ("m_code", "ID"),
            ("m_name", "身份证"),
            ("m_copies", "1"),
            ("m_required_if", ""),
            ("m_code", "POA"),
            ("m_name", "委托书"),
            ("m_copies", "1"),
            ("m_required_if", "agent=yes"),
            ("p_name", "专家评审"),
            ("p_days", "10"),
            ("p_counted", "否"),
        ];
        let r = c
            .post(s.at("/admin/catalogue/items/new"))
            .form(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let (_, v) = s.get_json("/api/v1/items/NEW-1", None).await;
        assert_eq!(v["kind"], "immediate");
        assert_eq!(v["materials"][1]["required_if"]["answers"], json!(["yes"]));
        assert_eq!(v["special_procedures"][0]["days"], 10);

        let r = c
            .get(s.at("/admin/catalogue/items/NEW-1/edit"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("value=\"委托书\""), "{html}");
        assert!(
            html.contains("<option value=\"agent=yes\" selected>是否委托：是</option>"),
            "{html}"
        );
        let r = c.get(s.at("/admin/catalogue")).send().await.unwrap();
        let html = r.text().await.unwrap();
        assert!(html.contains("NEW-1") && html.contains("导入与导出"));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_page_imports_an_uploaded_workbook() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let c = crate::support::admin_session(&s).await;
        let good = yichuang_server::catalogue::xlsx::write(&sample_catalogue()).unwrap();
        for (bytes, status, text) in [
            (broken_workbook(), 422, "申请材料!A3"),
            (good, 200, "导入成功"),
        ] {
            let part = reqwest::multipart::Part::bytes(bytes).file_name("catalogue.xlsx");
            let r = c
                .post(s.at("/admin/catalogue/import"))
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status);
            assert!(r.text().await.unwrap().contains(text));
        }
        let (_, v) = s.get_json("/api/v1/items", None).await;
        assert_eq!(v["total"], 3);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn other_roles_may_read_but_not_change_the_catalogue() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        seed(&s).await;
        let admin = s.admin_token().await;
        let (status, v) = s
            .post_json(
                "/api/v1/accounts",
                Some(&admin),
                &json!({"username": "shenpi", "display_name": "审批员", "role": "approver",
                        "department": "SCJG", "password": "approver2026pw"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let token = s.token("shenpi", "approver2026pw").await;
        let before = event_count(&s).await;
        let (status, v) = s
            .post_json(
                "/api/v1/departments",
                Some(&token),
                &json!({"code": "X", "name": "某部门"}),
            )
            .await;
        assert_eq!(status, 403, "{v}");
        assert_eq!(v["code"], "forbidden");
        assert!(v["title"].as_str().unwrap().contains("无权修改事项目录"));
        let (status, _) = s
            .post_json("/api/v1/items/SCJG-002/retire", Some(&token), &json!({}))
            .await;
        assert_eq!(status, 403);
        assert_eq!(event_count(&s).await, before);
        let (status, _) = s.get_json("/api/v1/items/SCJG-001", Some(&token)).await;
        assert_eq!(status, 200);

        let r = s
            .client
            .get(s.at("/admin/catalogue"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("无权修改事项目录"));
        s.stop().await;
    })
    .await;
}
