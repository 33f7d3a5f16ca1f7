//! The case pages over HTTP on both backends: bundle acceptance at the window (one question and
//! one shared material asked once, one notice for the whole, R-USCC warns), and the applicant's
//! phone pages (sign-in by one-time code, plain timeline, supplement by upload that leaves no
//! file behind when refused, electronic certificate, online application). Errors are pages
//! with the message next to the field.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::cases::{PERSON_ID, PHONE, case, new_case};
use crate::support::{ADMIN_PASSWORD, TestServer, config, on_each_backend};

/// A valid 统一社会信用代码 with its last character changed: the check digit fails (R-USCC).
pub const USCC_BAD_CHECK: &str = "91350100M000100Y44";
pub const ENTERPRISE_PHONE: &str = "13912345678";
pub const DEMO_PASSWORD: &str = "Demo-2026";
pub const BUNDLE: &str = "YJS-KBQY-GGCS";

/// The server with the demo data set loaded (云岭市: catalogue, halls, staff).
pub async fn demo_server(url: &str) -> TestServer {
    let mut c = config(url);
    c.demo = true;
    c.admin_password = Some(ADMIN_PASSWORD.to_string());
    TestServer::start_with(c).await
}

async fn page(s: &TestServer, token: Option<&str>, path: &str) -> (u16, String) {
    let mut r = s.client.get(s.at(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(
    s: &TestServer,
    client: &reqwest::Client,
    token: Option<&str>,
    path: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    let mut r = client.post(s.at(path)).form(form);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The checkbox names (`m_…`) of the bundle form.
fn checkboxes(html: &str) -> Vec<String> {
    html.split(r#"name="m_"#)
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

/// The bundle form for 开办企业（公共场所）: every material ticked but `except`, the enterprise
/// as applicant.
pub fn bundle_form(html: &str, except: &str, name: &str, id: &str) -> Vec<(String, String)> {
    let mut f = pairs(&[
        ("bundle", BUNDLE),
        ("kind", "enterprise"),
        ("name", name),
        ("id_number", id),
        ("phone", ENTERPRISE_PHONE),
        ("a_enterprise_type", "limited"),
        ("a_investor_type", "person"),
        ("a_applicant", "self"),
        ("a_invoice_medium", "digital"),
        ("a_central_ac", "no"),
    ]);
    for m in checkboxes(html) {
        if m != except {
            f.push((format!("m_{m}"), "1".into()));
        }
    }
    f
}

#[tokio::test]
async fn the_window_receives_a_bundle_on_one_page_with_one_notice_for_the_whole_and_a_bad_check_digit_only_warns_r_uscc()
 {
    on_each_backend(|url| async move {
        let s = demo_server(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let clerk = s.token("wangfang", DEMO_PASSWORD).await;
        let (st, html) = page(
            &s,
            Some(&clerk),
            &format!("/bundle-cases/new?bundle={BUNDLE}&ticket=A001"),
        )
        .await;
        assert_eq!(st, 200, "{html}");
        assert!(html.contains("号票 A001"));
        // Each shared material and each question once, though several members need them.
        let boxes = checkboxes(&html);
        assert_eq!(
            boxes.iter().filter(|b| *b == "legal_rep_id").count(),
            1,
            "{boxes:?}"
        );
        assert!(
            !boxes.iter().any(|b| b.ends_with(":legal_rep_id")),
            "{boxes:?}"
        );
        assert_eq!(html.matches(r#"name="a_applicant""#).count(), 1);
        assert!(boxes.contains(&"YL-SCJG-XK-001:residence_proof".to_string()));
        assert!(
            !html.contains(" required"),
            "no HTML `required`: the browser would refuse silently"
        );

        // Bad input: the form comes back with the messages next to the fields, nothing created.
        let mut bad = bundle_form(&html, "", "", "91350100M000100Y4");
        bad.retain(|(k, _)| k != "a_central_ac");
        let r = post_form(&s, &s.client, Some(&clerk), "/bundle-cases/new", &bad).await;
        assert_eq!(r.status(), 422);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"id="name-error""#), "{body}");
        assert!(body.contains(r#"id="id-error""#), "{body}");
        assert!(
            body.contains("请回答办理情形：是否使用集中空调通风系统"),
            "{body}"
        );
        assert!(
            body.contains(r#"value="91350100M000100Y4""#),
            "the values are kept"
        );

        // A failing check digit warns and does not refuse; one material is missing.
        let good = bundle_form(
            &html,
            "YL-SCJG-XK-001:residence_proof",
            "云岭青丝美发有限公司",
            USCC_BAD_CHECK,
        );
        let r = post_form(&s, &s.client, Some(&clerk), "/bundle-cases/new", &good).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let receipt = r.headers()["location"].to_str().unwrap().to_string();
        let number = receipt
            .trim_start_matches("/bundle-cases/")
            .trim_end_matches("/receipt")
            .to_string();
        assert!(
            number.ends_with("0001"),
            "the refused form used no number: {number}"
        );
        let (st, notice) = page(&s, Some(&clerk), &receipt).await;
        assert_eq!(st, 200);
        assert!(notice.contains("一次性告知书"), "{notice}");
        assert!(notice.contains("住所（经营场所）使用相关文件"), "{notice}");
        assert_eq!(
            notice.matches("<li data-key=").count(),
            1,
            "only what is missing: {notice}"
        );
        assert!(
            notice.contains("校验"),
            "the R-USCC warning is shown: {notice}"
        );
        assert!(!notice.contains(ENTERPRISE_PHONE), "R-PII");

        let (_, v) = s
            .get_json(&format!("/api/v1/bundle-cases/{number}"), Some(&clerk))
            .await;
        assert_eq!(v["status"], "awaiting_supplement", "{v}");
        assert_eq!(v["holding_up"][0]["item"], "YL-SCJG-XK-001");
        assert_eq!(v["members"][1]["stage"], "waiting", "{v}");
        assert_eq!(
            v["one_time_notice"]["missing"],
            json!({"YL-SCJG-XK-001": ["residence_proof"]})
        );

        // The parent's page: sub-cases, who holds it up; the window takes the supplement.
        let (st, p) = page(&s, Some(&clerk), &format!("/bundle-cases/{number}")).await;
        assert_eq!(st, 200);
        assert!(
            p.contains(r#"id="holding-up""#) && p.contains("企业设立登记"),
            "{p}"
        );
        let r = post_form(
            &s,
            &s.client,
            Some(&clerk),
            &format!("/bundle-cases/{number}"),
            &pairs(&[("action", "supplement")]),
        )
        .await;
        assert_eq!(r.status(), 422, "nothing ticked");
        assert!(r.text().await.unwrap().contains("请选择收到的补正材料"));
        let r = post_form(
            &s,
            &s.client,
            Some(&clerk),
            &format!("/bundle-cases/{number}"),
            &pairs(&[
                ("action", "supplement"),
                ("m_YL-SCJG-XK-001:residence_proof", "1"),
            ]),
        )
        .await;
        assert_eq!(r.status(), 303);
        let (_, v) = s
            .get_json(&format!("/api/v1/bundle-cases/{number}"), Some(&clerk))
            .await;
        assert_eq!(v["status"], "in_progress", "{v}");
        assert_eq!(
            v["members"][0]["status"], "routed",
            "accepted and pushed to 市场监管: {v}"
        );
        assert_eq!(v["clock"]["due_date"], "2026-03-03", "{v}");
        s.stop().await;
    })
    .await;
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n").into_bytes()
}

fn file_part(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

/// Signs `client` in on the phone page and returns nothing; the cookie stays in the client.
pub async fn phone_sign_in(s: &TestServer, client: &reqwest::Client, phone: &str) {
    let since = s.running.state.now() - chrono::Duration::seconds(1);
    let r = post_form(s, client, None, "/my/code", &pairs(&[("phone", phone)])).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("验证码已发送"));
    let code = login_code(s, phone, since).await;
    let r = post_form(
        s,
        client,
        None,
        "/my/login",
        &pairs(&[("phone", phone), ("code", &code)]),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("yc_applicant=")
    );
}

/// The one-time code the outbox holds for `phone`, as the tests read it (no SMS gateway).
pub async fn login_code(
    s: &TestServer,
    phone: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> String {
    let st = &s.running.state;
    let text = yichuang_store::cases::outbox::latest_to(&st.db, "login_code", phone, since)
        .await
        .unwrap()
        .expect("the code went to the outbox");
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// How many files the SQLite test database's vault directory holds (None on PostgreSQL, where
/// the bytes live in the database).
fn vault_files(url: &str) -> Option<usize> {
    let path = url.strip_prefix("sqlite://")?;
    let dir = std::path::PathBuf::from(format!("{path}.vault"));
    let mut n = 0;
    for sub in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        n += std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|f| !f.file_name().to_string_lossy().ends_with(".part"))
            .count();
    }
    Some(n)
}

#[tokio::test]
async fn an_applicant_signs_in_on_the_phone_supplements_by_upload_and_a_refused_upload_leaves_no_file()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, n, _) = new_case(&s, "X001", &["A"]).await;
        let me = crate::support::client();

        let (st, login) = page(&s, None, "/my").await;
        assert_eq!(st, 200);
        assert!(login.contains("获取验证码"));
        let r = post_form(&s, &me, None, "/my/code", &pairs(&[("phone", "1381234")])).await;
        assert_eq!(r.status(), 422);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(r.text().await.unwrap().contains(r#"id="phone-error""#));
        let since = s.running.state.now() - chrono::Duration::seconds(1);
        let r = post_form(&s, &me, None, "/my/code", &pairs(&[("phone", PHONE)])).await;
        assert_eq!(r.status(), 200);
        let r = post_form(
            &s,
            &me,
            None,
            "/my/login",
            &pairs(&[("phone", PHONE), ("code", "999999x")]),
        )
        .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"id="code-error""#), "{body}");
        assert!(
            body.contains(&format!(r#"value="{PHONE}""#)),
            "the phone is kept"
        );
        let code = login_code(&s, PHONE, since).await;
        let r = post_form(
            &s,
            &me,
            None,
            "/my/login",
            &pairs(&[("phone", PHONE), ("code", &code)]),
        )
        .await;
        assert_eq!(r.status(), 303);

        let list = me
            .get(s.at("/my"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            list.contains(&n) && list.contains("需要您补正材料"),
            "{list}"
        );
        let mine = me
            .get(s.at(&format!("/my/cases/{n}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            mine.contains("138****5678") && !mine.contains(PHONE),
            "R-PII: {mine}"
        );
        assert!(
            mine.contains("一次性告知您需补正：营业执照"),
            "plain words: {mine}"
        );
        assert!(
            mine.contains(r#"id="f-B""#),
            "one upload per missing material: {mine}"
        );
        let files_before = vault_files(&url);

        let upload = |bytes: Vec<u8>| {
            let form = Form::new().part("f_B", file_part(bytes, "licence.pdf"));
            me.post(s.at(&format!("/my/cases/{n}/supplement")))
                .multipart(form)
                .send()
        };
        // Not a form, or no file chosen: the page says so, in HTML, and nothing changes.
        let r = me
            .post(s.at(&format!("/my/cases/{n}/supplement")))
            .json(&json!({"f_B": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let r = me
            .post(s.at(&format!("/my/cases/{n}/supplement")))
            .multipart(Form::new().part("f_B", file_part(Vec::new(), "")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains(r#"id="files-error""#));
        let r = upload(b"plain text, not a scan".to_vec()).await.unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("只接受 PDF、JPEG 或 PNG 文件"), "{body}");
        assert_eq!(
            case(&s, &staff.clerk, &n).await["status"],
            "awaiting_supplement"
        );
        let r = upload(pdf("licence")).await.unwrap();
        assert_eq!(r.status(), 303);
        let v = case(&s, &staff.clerk, &n).await;
        assert_eq!(
            v["status"], "routed",
            "accepted and pushed to the department: {v}"
        );
        let (_, offers) = s
            .get_json(&format!("/api/v1/cases/{n}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(offers["materials"].as_array().unwrap().len(), 1, "{offers}");
        if let (Some(b), Some(a)) = (files_before, vault_files(&url)) {
            assert_eq!(a, b + 1);
        }

        // Nothing is missing now: another upload is refused and leaves no file behind.
        let r = upload(pdf("a second, different scan")).await.unwrap();
        assert_eq!(r.status(), 409);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let (_, offers) = s
            .get_json(&format!("/api/v1/cases/{n}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(offers["materials"].as_array().unwrap().len(), 1, "{offers}");
        if let (Some(b), Some(a)) = (files_before, vault_files(&url)) {
            assert_eq!(a, b + 1, "no orphan file");
        }

        // Someone else's phone does not see the case.
        let other = crate::support::client();
        phone_sign_in(&s, &other, "13700000000").await;
        let r = other
            .get(s.at(&format!("/my/cases/{n}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        // Worked through and issued as an electronic certificate: the applicant downloads it.
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        for (token, path, body) in [
            (&staff.approver, c("/confirm"), json!({})),
            (&staff.approver, c("/steps/review/claim"), json!({})),
            (
                &staff.approver,
                c("/steps/review/approve"),
                json!({"opinion": "同意"}),
            ),
            (&staff.approver, c("/steps/decide/claim"), json!({})),
            (
                &staff.approver,
                c("/steps/decide/decide"),
                json!({"outcome": "approved", "document_number": "食许〔2026〕1号"}),
            ),
            (&staff.issuer, c("/steps/issue/claim"), json!({})),
            (
                &staff.issuer,
                c("/steps/issue/issue"),
                json!({"method": "electronic"}),
            ),
        ] {
            let (st, v) = s.post_json(&path, Some(token), &body).await;
            assert_eq!(st, 200, "{path}: {v}");
        }
        let mine = me
            .get(s.at(&format!("/my/cases/{n}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            mine.contains("作出准予决定（文书号 食许〔2026〕1号）"),
            "{mine}"
        );
        assert!(mine.contains(r#"id="certificate""#), "{mine}");
        let r = me
            .get(s.at(&format!("/my/cases/{n}/certificate")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        let doc = r.bytes().await.unwrap().to_vec();
        let has = |text: &str| {
            let hex = yichuang_domain::case::certificate::ucs2_hex(text);
            doc.windows(hex.len()).any(|w| w == hex.as_bytes())
        };
        assert!(doc.starts_with(b"%PDF-"));
        assert!(
            has(&format!("证照编号：Z{n}")),
            "the certificate names its number"
        );
        assert!(
            !has(PERSON_ID),
            "R-PII: the ID number is masked on the certificate"
        );
        assert!(!has("扫码核验证照"), "no public address set: no QR code");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_applicant_applies_online_on_the_phone_page_with_a_file_per_material() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, _, _) = new_case(&s, "X001", &["A", "B"]).await;
        let me = crate::support::client();
        phone_sign_in(&s, &me, PHONE).await;
        let form = me
            .get(s.at("/my/apply?item=X001"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            form.contains(r#"id="f-A""#) && form.contains(r#"id="f-B""#),
            "{form}"
        );

        let send = |id: &str, file: Vec<u8>| {
            let f = Form::new()
                .text("item", "X001")
                .text("kind", "person")
                .text("name", "张三")
                .text("id_number", id.to_string())
                .part("f_A", file_part(file, "form.pdf"));
            me.post(s.at("/my/apply")).multipart(f).send()
        };
        let r = send("110105194912310021", pdf("application"))
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"id="id-error""#), "{body}");
        let r = send(PERSON_ID, pdf("application")).await.unwrap();
        assert_eq!(r.status(), 303);
        let n = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/my/cases/")
            .to_string();
        let v = case(&s, &staff.clerk, &n).await;
        assert_eq!(
            v["status"], "received",
            "waiting for the front desk's pre-review: {v}"
        );
        assert_eq!(v["materials"], json!(["A"]));
        let (_, offers) = s
            .get_json(&format!("/api/v1/cases/{n}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(offers["prefill"], json!(["A"]), "{offers}");
        let page = me
            .get(s.at(&format!("/my/cases/{n}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("网上收到您的申请，等待窗口预审"), "{page}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_immediate_item_is_accepted_decided_and_handed_over_at_the_window_in_one_step() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let mut spot = crate::cases::item("X900", false);
        spot.kind = yichuang_domain::catalogue::ItemKind::Immediate;
        spot.committed_limit_days = 0;
        crate::cases::publish(&s, &spot).await;
        crate::cases::publish(&s, &crate::cases::item("X001", false)).await;
        let staff = crate::cases::staff(&s).await;
        let (_, html) = page(&s, Some(&staff.clerk), "/cases/new?item=X900").await;
        assert!(html.contains(r#"id="decide-on-spot""#), "{html}");
        let (_, html) = page(&s, Some(&staff.clerk), "/cases/new?item=X001").await;
        assert!(
            !html.contains(r#"id="decide-on-spot""#),
            "committed items go to the department"
        );

        let form = |item: &str, materials: &[&str], document: &str| {
            let mut f = pairs(&[
                ("item", item),
                ("kind", "person"),
                ("name", "张三"),
                ("id_number", PERSON_ID),
                ("phone", PHONE),
                ("document_number", document),
                ("spot_method", "pickup"),
                ("spot", "1"),
            ]);
            for m in materials {
                f.push((format!("m_{m}"), "1".into()));
            }
            f
        };
        let r = accept_at_window(&s, &staff.clerk, &form("X900", &["A", "B"], " ")).await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"id="document-error""#), "{body}");
        assert!(body.contains(r#"value="张三""#), "the values are kept");
        let r = accept_at_window(&s, &staff.clerk, &form("X900", &["A"], "云备〔2026〕1号")).await;
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("材料不齐全，不能当场办结"));
        let r = accept_at_window(
            &s,
            &staff.clerk,
            &form("X001", &["A", "B"], "云备〔2026〕1号"),
        )
        .await;
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("只有即办件可以当场办结"));

        let r = accept_at_window(
            &s,
            &staff.clerk,
            &form("X900", &["A", "B"], "云备〔2026〕1号"),
        )
        .await;
        assert_eq!(r.status(), 303);
        let receipt = r.headers()["location"].to_str().unwrap().to_string();
        let n = receipt
            .trim_start_matches("/cases/")
            .trim_end_matches("/receipt")
            .to_string();
        assert!(n.ends_with("0001"), "refused attempts created nothing: {n}");
        let (_, html) = page(&s, Some(&staff.clerk), &receipt).await;
        assert!(
            html.contains("办结通知书") && html.contains("云备〔2026〕1号"),
            "{html}"
        );
        let v = case(&s, &staff.clerk, &n).await;
        assert_eq!(v["status"], "issued", "{v}");
        assert_eq!(v["accepted_on"], "2026-03-02");
        assert_eq!(v["decision"]["outcome"], "approved");
        assert_eq!(v["issuance"]["delivery"]["method"], "pickup");
        assert_eq!(v["open_steps"], json!([]), "no back-office step");
        let (st, cert) = s
            .get_json(
                &format!("/api/v1/cases/{n}/certificate"),
                Some(&staff.clerk),
            )
            .await;
        assert_eq!(st, 200, "{cert}");
        let (_, m) = s
            .get_json(
                &format!("/api/v1/cases/{n}/notifications"),
                Some(&staff.clerk),
            )
            .await;
        let kinds: Vec<&str> = m["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["accepted", "decided", "picked_up"]);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_acceptance_form_pressed_twice_at_once_makes_one_case_and_both_presses_show_its_receipt()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        crate::cases::publish(&s, &crate::cases::item("X001", false)).await;
        let staff = crate::cases::staff(&s).await;
        let key_of = receipt_key_of;
        let (_, html) = page(&s, Some(&staff.clerk), "/cases/new?item=X001").await;
        let key = key_of(&html);
        let (_, again) = page(&s, Some(&staff.clerk), "/cases/new?item=X001").await;
        assert_ne!(key_of(&again), key, "each form its own key");
        assert_eq!(key.len(), 32);

        let form_for = |key: &str, id_number: &str| {
            pairs(&[
                ("item", "X001"),
                ("kind", "person"),
                ("name", "张三"),
                ("id_number", id_number),
                ("phone", PHONE),
                ("m_A", "1"),
                ("m_B", "1"),
                ("receipt_key", key),
            ])
        };
        let form = |key: &str| form_for(key, PERSON_ID);
        let pressed = form(&key);
        let press = || accept_at_window(&s, &staff.clerk, &pressed);
        let (first, second) = tokio::join!(press(), press());
        let receipt = |r: &reqwest::Response| {
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_string()
        };
        assert_eq!(
            receipt(&first),
            receipt(&second),
            "one case for both presses"
        );
        // Pressed again later (the answer lost on the way): the same receipt.
        let third = press().await;
        assert_eq!(receipt(&third), receipt(&first));
        let (st, html) = page(&s, Some(&staff.clerk), &receipt(&first)).await;
        assert_eq!(st, 200, "{html}");

        // The pressed form used again for someone else makes nothing, says so, and comes
        // back with a new key that makes their case.
        const SOMEONE_ELSE: &str = "110105196001011239";
        let reused = form_for(&key, SOMEONE_ELSE);
        let r = accept_at_window(&s, &staff.clerk, &reused).await;
        assert_eq!(r.status(), 409);
        let html = r.text().await.unwrap();
        assert!(html.contains("这张受理单已用于另一份申请"), "{html}");
        let fresh = key_of(&html);
        assert_ne!(fresh, key);
        let renewed = form_for(&fresh, SOMEONE_ELSE);
        let r = accept_at_window(&s, &staff.clerk, &renewed).await;
        assert_ne!(receipt(&r), receipt(&first));

        // Another form is another case; a form without a good key still makes its case.
        let r = accept_at_window(&s, &staff.clerk, &form(&key_of(&again))).await;
        assert_ne!(receipt(&r), receipt(&first));
        let r = accept_at_window(&s, &staff.clerk, &form("short")).await;
        assert_eq!(r.status(), 303);
        assert_eq!(crate::cases::case_numbers(&s).await.len(), 4);
        s.stop().await;
    })
    .await;
}

/// The receipt key a form carries.
fn receipt_key_of(html: &str) -> String {
    html.split(r#"name="receipt_key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .expect("the form carries its receipt key")
}

/// The 303's location: where a form that made something sends the browser.
fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_bundle_form_pressed_twice_makes_one_bundle_and_the_form_used_for_another_enterprise_makes_nothing()
 {
    on_each_backend(|url| async move {
        let s = demo_server(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let clerk = s.token("wangfang", DEMO_PASSWORD).await;
        let path = format!("/bundle-cases/new?bundle={BUNDLE}");
        let (_, html) = page(&s, Some(&clerk), &path).await;
        let key = receipt_key_of(&html);
        let (_, again) = page(&s, Some(&clerk), &path).await;
        assert_ne!(receipt_key_of(&again), key, "each form its own key");
        let form_for = |key: &str, id: &str| {
            let mut f = bundle_form(&html, "", "云岭青丝美发有限公司", id);
            f.push(("receipt_key".into(), key.into()));
            f
        };
        let cases_before = crate::cases::case_numbers(&s).await.len();
        let (server, clerk) = (&s, &clerk);
        let submit = |form: Vec<(String, String)>| async move {
            post_form(
                server,
                &server.client,
                Some(clerk),
                "/bundle-cases/new",
                &form,
            )
            .await
        };
        let press = || submit(form_for(&key, USCC_BAD_CHECK));
        let (first, second) = tokio::join!(press(), press());
        assert_eq!(location(&first), location(&second), "one bundle for both");
        let third = press().await;
        assert_eq!(location(&third), location(&first), "pressed again later");
        let number = location(&first)
            .trim_start_matches("/bundle-cases/")
            .trim_end_matches("/receipt")
            .to_string();
        let (_, v) = s
            .get_json(&format!("/api/v1/bundle-cases/{number}"), Some(clerk))
            .await;
        let members = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["number"].is_string())
            .count();
        assert!(members > 0, "{v}");
        assert_eq!(
            crate::cases::case_numbers(&s).await.len(),
            cases_before + members,
            "each member received once"
        );

        // The pressed form used for another enterprise: nothing made, said beside the form,
        // which comes back with a new key that makes theirs.
        const OTHER: &str = "91350100M000100Y45";
        let r = submit(form_for(&key, OTHER)).await;
        assert_eq!(r.status(), 409);
        let html = r.text().await.unwrap();
        assert!(html.contains("这张受理单已用于另一份申请"), "{html}");
        assert!(
            html.contains(r#"value="91350100M000100Y45""#),
            "the values are kept"
        );
        let fresh = receipt_key_of(&html);
        assert_ne!(fresh, key);
        assert_eq!(
            crate::cases::case_numbers(&s).await.len(),
            cases_before + members
        );
        let r = submit(form_for(&fresh, OTHER)).await;
        assert_ne!(location(&r), location(&first));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_phone_application_sent_twice_makes_one_case_and_its_key_from_another_phone_makes_nothing()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        crate::cases::publish(&s, &crate::cases::item("X001", false)).await;
        let me = crate::support::client();
        phone_sign_in(&s, &me, PHONE).await;
        let form_page = |client: &reqwest::Client| {
            let r = client.get(s.at("/my/apply?item=X001")).send();
            async move { r.await.unwrap().text().await.unwrap() }
        };
        let key = receipt_key_of(&form_page(&me).await);
        assert_ne!(
            receipt_key_of(&form_page(&me).await),
            key,
            "each form its own key"
        );
        let send = |client: &reqwest::Client, key: &str| {
            let f = Form::new()
                .text("item", "X001")
                .text("kind", "person")
                .text("name", "张三")
                .text("id_number", PERSON_ID)
                .text("receipt_key", key.to_string())
                .part("f_A", file_part(pdf("application"), "form.pdf"));
            let r = client.post(s.at("/my/apply")).multipart(f).send();
            async move { r.await.unwrap() }
        };
        let cases_before = crate::cases::case_numbers(&s).await.len();
        let files_before = vault_materials(&s).await;
        let (first, second) = tokio::join!(send(&me, &key), send(&me, &key));
        assert_eq!(location(&first), location(&second), "one case for both");
        assert_eq!(location(&send(&me, &key).await), location(&first));
        assert_eq!(crate::cases::case_numbers(&s).await.len(), cases_before + 1);
        let n = location(&first)
            .trim_start_matches("/my/cases/")
            .to_string();
        assert_eq!(
            vault_materials(&s).await,
            files_before + 1,
            "the file kept once"
        );

        // Another phone holding the key (a link passed on, a form copied) learns nothing of
        // the case and makes none.
        let other = crate::support::client();
        phone_sign_in(&s, &other, "13700001111").await;
        let r = send(&other, &key).await;
        assert_eq!(r.status(), 409);
        let html = r.text().await.unwrap();
        assert!(html.contains("这份申请表已经提交过另一份申请"), "{html}");
        assert!(!html.contains(&n), "nothing of the first case shown");
        assert_eq!(crate::cases::case_numbers(&s).await.len(), cases_before + 1);
        let r = send(&other, &receipt_key_of(&html)).await;
        assert_ne!(location(&r), location(&first));
        s.stop().await;
    })
    .await;
}

/// How many materials the vault holds.
async fn vault_materials(s: &TestServer) -> usize {
    crate::support::texts(s, "SELECT material_code AS value FROM vault_materials")
        .await
        .len()
}

/// Posts the window's 受理 form as the clerk with `token`.
async fn accept_at_window(
    s: &TestServer,
    token: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    post_form(s, &s.client, Some(token), "/cases/new", form).await
}
