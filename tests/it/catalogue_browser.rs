//! The catalogue editor in a browser (issue 10 item 3): an item's 办理情形 and 申请材料 are
//! rows of labelled inputs and choices — 原件/复印件, 份数, 适用情形 chosen by the situation's
//! question and answer — with 添加/删除 buttons, not pipe-separated lines with codes; a bad
//! row is refused beside the row and nothing is saved. 特殊环节 likewise: name, working days
//! and whether they count in the limit, as a row.

use serde_json::json;

use crate::browser::Browser;
use crate::support::{ADMIN_PASSWORD, TestServer, on_each_backend};

const ITEM: &str = "X001";

/// Sets a field of the last row of a list (`material` or `situation`).
async fn set_last(b: &Browser, list: &str, name: &str, value: &str) {
    let script = format!(
        "const rows = document.querySelectorAll('#{list}-rows tr[data-row]'); \
         const f = rows[rows.length - 1].querySelector('[name={name}]'); \
         f.value = {value}; return f.value;",
        value = serde_json::to_string(value).unwrap()
    );
    assert_eq!(b.eval(&script).await, json!(value), "{list} {name}");
}

async fn rows(b: &Browser, list: &str) -> usize {
    b.eval(&format!(
        "return document.querySelectorAll('#{list}-rows tr[data-row]').length;"
    ))
    .await
    .as_u64()
    .unwrap() as usize
}

/// The first problem told beside a row of `list` (the form field, e.g. `materials`): the
/// value of the row's `name` input above it, and the message.
async fn error_beside(b: &Browser, list: &str, name: &str) -> serde_json::Value {
    b.eval(&format!(
        "const e = document.querySelector('[data-row-error={list}]'); \
         if (!e) return null; \
         const row = e.closest('tr').previousElementSibling; \
         return [row.querySelector('[name={name}]').value, e.textContent];"
    ))
    .await
}

#[tokio::test]
async fn a_manager_adds_a_material_and_a_situation_as_rows_and_a_bad_row_is_refused_beside_it() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        let mut item = serde_json::to_value(crate::cases::item(ITEM, false)).unwrap();
        item["situations"] = json!([{"code": "agent", "question": "是否委托他人办理",
            "options": [{"code": "yes", "label": "是"}, {"code": "no", "label": "否"}]}]);
        crate::cases::publish(&s, &serde_json::from_value(item).unwrap()).await;
        let admin = s.admin_token().await;

        b.sign_in(
            &s.url,
            "admin",
            ADMIN_PASSWORD,
            &format!("/admin/catalogue/items/{ITEM}/edit"),
        )
        .await;
        // Rows with labelled inputs, no line format to learn.
        assert_eq!(rows(&b, "material").await, 2);
        assert_eq!(rows(&b, "situation").await, 1);
        let body = b.body_text().await;
        assert!(!body.contains("编码 | 名称"), "the line format is gone");
        assert_eq!(
            b.eval("return document.querySelectorAll('textarea#materials, textarea#situations').length;")
                .await,
            json!(0)
        );

        // A situation and a material needed only when someone else applies for the applicant.
        b.el("#add-situation").await.click().await.unwrap();
        assert_eq!(rows(&b, "situation").await, 2);
        set_last(&b, "situation", "s_question", "是否需要邮寄送达").await;
        set_last(&b, "situation", "s_options", "是；否").await;
        b.el("#add-material").await.click().await.unwrap();
        assert_eq!(rows(&b, "material").await, 3);
        set_last(&b, "material", "m_name", "授权委托书").await;
        set_last(&b, "material", "m_form", "复印件").await;
        set_last(&b, "material", "m_copies", "2").await;
        // The 适用情形 is offered by the question and its answer, not by codes.
        let offered = b
            .eval(
                "const rows = document.querySelectorAll('#material-rows tr[data-row]'); \
                 return [...rows[rows.length - 1].querySelectorAll('[name=m_required_if] option')].map(o => o.textContent);",
            )
            .await;
        assert_eq!(
            offered,
            json!(["始终需要", "是否委托他人办理：是", "是否委托他人办理：否"])
        );
        set_last(&b, "material", "m_required_if", "agent=yes").await;
        // A row removed is not saved.
        b.el("#add-material").await.click().await.unwrap();
        set_last(&b, "material", "m_name", "多余的一行").await;
        b.eval(
            "const rows = document.querySelectorAll('#material-rows tr[data-row]'); \
             rows[rows.length - 1].querySelector('[data-remove-row]').click(); return null;",
        )
        .await;
        b.click_and_wait(".item-form button[type=submit]").await;
        assert!(
            b.body_text().await.contains(&format!("已保存：{ITEM}")),
            "{}",
            b.body_text().await
        );
        b.assert_no_machine_text().await;

        let (_, v) = s.get_json(&format!("/api/v1/items/{ITEM}"), Some(&admin)).await;
        let materials = v["materials"].as_array().unwrap();
        assert_eq!(materials.len(), 3, "{v}");
        assert_eq!(materials[2]["name"], "授权委托书");
        assert_eq!(materials[2]["form"], "copy");
        assert_eq!(materials[2]["copies"], 2);
        assert_eq!(materials[2]["required_if"]["question"], "agent");
        assert_eq!(materials[2]["required_if"]["answers"], json!(["yes"]));
        assert_eq!(v["situations"][1]["question"], "是否需要邮寄送达");
        assert_eq!(v["situations"][1]["options"][0]["label"], "是");

        // The one-time notice shows the new material.
        b.driver
            .goto(s.at(&format!("/catalogue/items/{ITEM}/notice")))
            .await
            .unwrap();
        let notice = b.body_text().await;
        assert!(notice.contains("授权委托书"), "{notice}");

        // A bad row: a count that is not a number. Refused beside the row; nothing saved.
        b.driver
            .goto(s.at(&format!("/admin/catalogue/items/{ITEM}/edit")))
            .await
            .unwrap();
        assert_eq!(rows(&b, "material").await, 3);
        b.el("#add-material").await.click().await.unwrap();
        set_last(&b, "material", "m_name", "身份证").await;
        set_last(&b, "material", "m_copies", "两").await;
        b.click_and_wait(".item-form button[type=submit]").await;
        let beside = error_beside(&b, "materials", "m_name").await;
        assert_eq!(beside[0], "身份证", "the message is beside the bad row: {beside}");
        assert!(
            beside[1].as_str().unwrap().contains("份数"),
            "{beside}"
        );
        assert!(b.body_text().await.contains("未保存任何内容"));
        let (_, after) = s.get_json(&format!("/api/v1/items/{ITEM}"), Some(&admin)).await;
        assert_eq!(after, v, "nothing was saved");
        b.quit().await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_manager_adds_a_special_procedure_as_a_row_and_a_bad_one_is_refused_beside_it() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        crate::cases::publish(&s, &crate::cases::item(ITEM, false)).await;
        let admin = s.admin_token().await;
        b.sign_in(
            &s.url,
            "admin",
            ADMIN_PASSWORD,
            &format!("/admin/catalogue/items/{ITEM}/edit"),
        )
        .await;
        assert_eq!(rows(&b, "procedure").await, 0);
        assert_eq!(
            b.eval("return document.querySelectorAll('textarea#special_procedures').length;")
                .await,
            json!(0),
            "no line format to learn"
        );
        b.el("#add-procedure").await.click().await.unwrap();
        set_last(&b, "procedure", "p_name", "现场核查").await;
        set_last(&b, "procedure", "p_days", "5").await;
        set_last(&b, "procedure", "p_counted", "否").await;
        b.el("#add-procedure").await.click().await.unwrap();
        set_last(&b, "procedure", "p_name", "专家评审").await;
        set_last(&b, "procedure", "p_days", "10").await;
        set_last(&b, "procedure", "p_counted", "是").await;
        b.click_and_wait(".item-form button[type=submit]").await;
        assert!(
            b.body_text().await.contains(&format!("已保存：{ITEM}")),
            "{}",
            b.body_text().await
        );
        let (_, v) = s.get_json(&format!("/api/v1/items/{ITEM}"), Some(&admin)).await;
        assert_eq!(
            v["special_procedures"],
            json!([
                {"name": "现场核查", "days": 5, "counted_in_limit": false},
                {"name": "专家评审", "days": 10, "counted_in_limit": true}
            ]),
            "{v}"
        );

        // Shown again as rows, with their choices kept.
        b.driver
            .goto(s.at(&format!("/admin/catalogue/items/{ITEM}/edit")))
            .await
            .unwrap();
        assert_eq!(rows(&b, "procedure").await, 2);
        let counted = b
            .eval("return [...document.querySelectorAll('#procedure-rows [name=p_counted]')].map(s => s.value);")
            .await;
        assert_eq!(counted, json!(["否", "是"]));

        // Days that are not a number: refused beside the row, nothing saved.
        b.el("#add-procedure").await.click().await.unwrap();
        set_last(&b, "procedure", "p_name", "听证").await;
        set_last(&b, "procedure", "p_days", "十天").await;
        b.click_and_wait(".item-form button[type=submit]").await;
        let beside = error_beside(&b, "special_procedures", "p_name").await;
        assert_eq!(beside[0], "听证", "the message is beside the bad row: {beside}");
        assert!(b.body_text().await.contains("未保存任何内容"));
        let (_, after) = s.get_json(&format!("/api/v1/items/{ITEM}"), Some(&admin)).await;
        assert_eq!(after, v, "nothing was saved");
        b.assert_no_machine_text().await;
        b.quit().await;
        s.stop().await;
    })
    .await;
}
