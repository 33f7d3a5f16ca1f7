//! Times the catalogue import on a generated 10,000-item catalogue: writing and reading the
//! .xlsx, importing into an empty database, importing the same catalogue again (nothing
//! changes), exporting, searching and loading one item. SQLite always; PostgreSQL too when
//! YICHUANG_TEST_DATABASE_URL is set.
//!
//! `cargo bench --bench catalogue_import` (ITEMS=… to change the size). Figures go into
//! docs/performance.md under "Catalogue import".

use std::time::{Duration, Instant};

use chrono::Utc;
use yichuang_domain::catalogue::{
    Bundle, BundleItem, Catalogue, Department, ItemKind, ItemType, MaterialForm, MaterialMedium,
    MaterialRef, MaterialRequirement, Region, RegionLevel, RequiredIf, ServiceItem, SharedMaterial,
    Situation, SituationOption, SpecialProcedure,
};
use yichuang_server::catalogue::{import_catalogue, xlsx};
use yichuang_store::Db;
use yichuang_store::catalogue::{self as store, ItemQuery};

const NOUNS: [&str; 12] = [
    "营业执照",
    "食品经营许可",
    "不动产登记",
    "社会保障卡",
    "医师执业注册",
    "排水许可",
    "取水许可",
    "施工许可",
    "公共场所卫生许可",
    "户籍迁移",
    "护照签发",
    "公积金提取",
];
const VERBS: [&str; 6] = ["核发", "变更", "注销", "延续", "补办", "备案"];

fn option(code: &str, label: &str) -> SituationOption {
    SituationOption {
        code: code.into(),
        label: label.into(),
    }
}

fn material(code: &str, name: String, required_if: Option<RequiredIf>) -> MaterialRequirement {
    MaterialRequirement {
        code: code.into(),
        name,
        form: MaterialForm::OriginalAndCopy,
        copies: 1,
        medium: MaterialMedium::Either,
        template: None,
        required_if,
        note: "须在有效期内".into(),
    }
}

/// A realistic item: two questions, six materials (two conditional), one special procedure.
fn item(n: usize, departments: usize) -> ServiceItem {
    let d = n % departments;
    let immediate = n.is_multiple_of(3);
    let noun = NOUNS[n % NOUNS.len()];
    let verb = VERBS[(n / NOUNS.len()) % VERBS.len()];
    ServiceItem {
        code: format!("D{d:03}-{n:05}"),
        name: format!("{noun}{verb}（第{n}号）"),
        department: format!("D{d:03}"),
        item_type: ItemType::ALL[n % ItemType::ALL.len()],
        kind: if immediate {
            ItemKind::Immediate
        } else {
            ItemKind::Committed
        },
        statutory_limit_days: 20,
        committed_limit_days: if immediate { 0 } else { 5 },
        legal_basis: "《中华人民共和国行政许可法》第二十九条至第三十二条".into(),
        conditions: "申请人符合法定条件，材料齐全、符合法定形式".into(),
        fee: String::new(),
        on_site_visits: 1,
        online: n.is_multiple_of(2),
        deemed_approval: false,
        special_procedures: vec![SpecialProcedure {
            name: "现场核查".into(),
            days: 5,
            counted_in_limit: false,
        }],
        situations: vec![
            Situation {
                code: "agent".into(),
                question: "是否委托他人办理".into(),
                options: vec![option("yes", "是"), option("no", "否")],
            },
            Situation {
                code: "kind".into(),
                question: "申请人类型".into(),
                options: vec![option("person", "个人"), option("enterprise", "企业")],
            },
        ],
        materials: vec![
            material("ID", "申请人身份证明".into(), None),
            material("FORM", format!("{noun}{verb}申请表"), None),
            material("M3", "相关证明材料".into(), None),
            material("M4", "场所使用证明".into(), None),
            material(
                "POA",
                "授权委托书".into(),
                Some(RequiredIf {
                    question: "agent".into(),
                    answers: vec!["yes".into()],
                }),
            ),
            material(
                "BL",
                "营业执照".into(),
                Some(RequiredIf {
                    question: "kind".into(),
                    answers: vec!["enterprise".into()],
                }),
            ),
        ],
        process_description: "申请—受理—审查—决定—送达".into(),
        consult_phone: "0870-12345".into(),
        location: "政务服务中心一楼综合窗口".into(),
        result: Default::default(),
    }
}

fn catalogue(items: usize) -> Catalogue {
    let departments = 50;
    let regions = vec![Region {
        code: "530000".into(),
        name: "示范市".into(),
        parent: None,
        level: RegionLevel::City,
    }];
    let departments_list = (0..departments)
        .map(|d| Department {
            code: format!("D{d:03}"),
            name: format!("示范部门{d}"),
            region: Some("530000".into()),
        })
        .collect();
    let items_list: Vec<ServiceItem> = (0..items).map(|n| item(n, departments)).collect();
    // One bundle per 100 items: three members in a chain, the ID card shared.
    let bundles = (0..items / 100)
        .map(|b| {
            let codes: Vec<String> = (0..3)
                .map(|k| items_list[b * 100 + k].code.clone())
                .collect();
            Bundle {
                code: format!("B{b:03}"),
                name: format!("一件事{b}"),
                description: String::new(),
                items: vec![
                    BundleItem {
                        item: codes[0].clone(),
                        after: vec![],
                    },
                    BundleItem {
                        item: codes[1].clone(),
                        after: vec![codes[0].clone()],
                    },
                    BundleItem {
                        item: codes[2].clone(),
                        after: vec![],
                    },
                ],
                shared_materials: vec![SharedMaterial {
                    code: "ID".into(),
                    name: "身份证".into(),
                    covers: codes
                        .iter()
                        .map(|c| MaterialRef {
                            item: c.clone(),
                            material: "ID".into(),
                        })
                        .collect(),
                }],
            }
        })
        .collect();
    Catalogue {
        regions,
        departments: departments_list,
        items: items_list,
        bundles,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

async fn timed<T>(what: &str, f: impl Future<Output = T>) -> T {
    let t = Instant::now();
    let v = f.await;
    println!("  {what:<44} {:>10}", ms(t.elapsed()));
    v
}

async fn on(db: &Db, c: &Catalogue) {
    let s = timed("import into an empty database", async {
        import_catalogue(db, c, "system:bench", Utc::now()).await
    })
    .await
    .expect("import");
    assert_eq!(s.items.created, c.items.len());
    let s = timed("import the same catalogue again (no change)", async {
        import_catalogue(db, c, "system:bench", Utc::now()).await
    })
    .await
    .expect("re-import");
    assert!(!s.changed());
    let back = timed(
        "export (load the whole catalogue)",
        store::export_catalogue(db),
    )
    .await
    .expect("export");
    assert_eq!(back.items.len(), c.items.len());
    let query = ItemQuery {
        q: Some("营业执照 变更".into()),
        limit: 20,
        ..ItemQuery::default()
    };
    let (total, _) = timed(
        "search \"营业执照 变更\" (first page)",
        store::list_items(db, &query),
    )
    .await
    .expect("search");
    assert!(total > 0);
    let query = ItemQuery {
        q: Some("D007-".into()),
        limit: 20,
        ..ItemQuery::default()
    };
    timed(
        "search by code prefix \"D007-\"",
        store::list_items(db, &query),
    )
    .await
    .expect("search");
    let code = &c.items[c.items.len() / 2].code;
    timed("load one item by code", store::item(db, code))
        .await
        .expect("item")
        .expect("exists");
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let c = catalogue(n);
    let materials: usize = c.items.iter().map(|i| i.materials.len()).sum();
    println!(
        "catalogue: {} items, {materials} materials, {} departments, {} bundles",
        c.items.len(),
        c.departments.len(),
        c.bundles.len()
    );
    let bytes = {
        let t = Instant::now();
        let b = xlsx::write(&c).expect("xlsx");
        println!(
            "  {:<44} {:>10}  ({} KB)",
            "write .xlsx",
            ms(t.elapsed()),
            b.len() / 1024
        );
        b
    };
    let t = Instant::now();
    let parsed = xlsx::read(&bytes).expect("read xlsx");
    println!("  {:<44} {:>10}", "read .xlsx", ms(t.elapsed()));
    assert!(parsed.problems.is_empty());
    assert_eq!(parsed.catalogue, c);

    println!("sqlite:");
    let db = Db::connect(&yichuang_store::testing::sqlite_url())
        .await
        .expect("sqlite");
    db.migrate().await.expect("migrate");
    on(&db, &c).await;
    db.close().await;

    if let Some(url) = yichuang_store::testing::postgres_url().await {
        println!("postgres:");
        let db = Db::connect(&url).await.expect("postgres");
        db.migrate().await.expect("migrate");
        on(&db, &c).await;
        db.close().await;
    } else {
        println!("postgres: skipped (set YICHUANG_TEST_DATABASE_URL)");
    }
}
