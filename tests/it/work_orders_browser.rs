//! Work orders and the ledger in a browser, on both backends (issue 12): a visitor's 办不成事 at
//! the window → classified complex → objected by the unit → reassigned → extension approved →
//! a similar order merged into it → answered → callback not satisfied → reopened → answered →
//! solved; the cluster of such orders becomes a ledger entry, closed out with evidence, revisited
//! and reopened. Each step through the page its person uses.

use serde_json::json;

use crate::browser::Browser;
use crate::cases::account;
use crate::hall::HALL;
use crate::ratings::desk;
use crate::support::{TestServer, on_each_backend};
use crate::work_orders::{general_order, new_order, units, window_problem};

async fn fill(b: &Browser, css: &str, text: &str) {
    let e = b.el(css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn pick(b: &Browser, select: &str, value: &str) {
    b.el(&format!("{select} option[value='{value}']"))
        .await
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn in_a_browser_a_window_problem_is_dispatched_objected_reassigned_extended_reopened_solved_and_its_cluster_ledgered()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        units(&s, &d).await;
        account(
            &s,
            &d.admin,
            "mgr1",
            json!({"role": "hall_manager", "hall": HALL}),
        )
        .await;
        b.driver.set_window_rect(0, 0, 1280, 900).await.unwrap();

        // The 办不成事 window: a wrong phone number is told beside its field; then recorded.
        b.sign_in(&s.url, "clerk1", "clerk2026pw", "/work-orders/new")
            .await;
        fill(&b, "#requester_name", "王大爷").await;
        fill(&b, "#requester_phone", "1381234").await;
        fill(
            &b,
            "#text",
            "在小区开便利店，办营业执照被要求房屋用途证明，不知道去哪开",
        )
        .await;
        b.click_and_wait("#create").await;
        assert!(
            b.el("[data-field=requester_phone]")
                .await
                .text()
                .await
                .unwrap()
                .contains("11")
        );
        assert!(
            b.el("#text")
                .await
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
                .contains("便利店"),
            "what was typed is kept"
        );
        fill(&b, "#requester_phone", "13812345678").await;
        b.click_and_wait("#create").await;
        assert_eq!(b.text_of("#wo-status").await, "已受理待分类");
        let number = b.text_of("h1").await.replace("工单 ", "");
        b.screenshot("work-order-received").await;
        // The visitor leaves with a receipt: the number, the promise, the order's own QR code.
        b.click_and_wait("#receipt-link").await;
        let receipt = b.text_of("#receipt").await;
        assert!(receipt.contains("云岭市政务服务中心") && receipt.contains("群众诉求受理回执"));
        assert!(
            receipt.contains(&number) && receipt.contains("2026年3月2日 10:00"),
            "{receipt}"
        );
        assert!(b.el("#receipt svg").await.is_displayed().await.unwrap());

        // The dispatcher classifies it complex and sends it to 市场监管局.
        b.sign_in(
            &s.url,
            "mgr1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        pick(&b, "#category", "02").await;
        pick(&b, "#tier", "complex").await;
        pick(&b, "#lead_unit", "scj").await;
        b.click_and_wait("#dispatch").await;
        assert_eq!(b.text_of("#wo-status").await, "已转办办理中");
        assert_eq!(b.text_of("#wo-lead").await, "市场监督管理局");
        assert_eq!(b.text_of("#wo-due").await, "2026年3月16日");

        // 市场监管局 finds it in its worklist and objects: not its matter.
        b.sign_in(&s.url, "scj1", "staff2026pw", "/work-orders")
            .await;
        assert!(b.body_text().await.contains(&number));
        b.click_and_wait(&format!("a[href='/work-orders/{number}']"))
            .await;
        b.click_and_wait("#object").await;
        assert!(
            b.el("[data-field=reason]")
                .await
                .text()
                .await
                .unwrap()
                .contains("理由")
        );
        fill(&b, "#object-reason", "房屋用途证明属住建部门职责").await;
        b.click_and_wait("#object").await;
        assert_eq!(b.text_of("#wo-status").await, "派单异议待审核");

        // The dispatcher agrees and reassigns to 住建局 with the reasons.
        b.sign_in(
            &s.url,
            "mgr1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        assert_eq!(
            b.text_of("#wo-objection").await,
            "房屋用途证明属住建部门职责"
        );
        pick(&b, "#reassign_to", "zjj").await;
        fill(&b, "#review-note", "异议成立，改由住建局主办").await;
        b.click_and_wait("#review").await;
        assert_eq!(b.text_of("#wo-lead").await, "住房和城乡建设局");

        // A second visitor reports the same; the dispatcher merges it into the first.
        let second = new_order(
            &s,
            &d.clerk,
            window_problem(
                "13912345678",
                "开便利店办营业执照要房屋用途证明，不知道去哪开",
            ),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        b.driver
            .goto(s.at(&format!("/work-orders/{second}")))
            .await
            .unwrap();
        b.el("#duplicates").await;
        b.screenshot("work-order-duplicates").await;
        b.click_and_wait(&format!("[data-merge-into='{number}']"))
            .await;
        assert_eq!(b.text_of("#wo-status").await, "已并单");

        // 住建局 asks for more time before the deadline; the dispatcher approves.
        b.sign_in(
            &s.url,
            "zjj1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        fill(&b, "#days", "3").await;
        fill(&b, "#ext-reason", "需现场核实房屋用途").await;
        b.click_and_wait("#ask-extension").await;
        b.sign_in(
            &s.url,
            "mgr1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        b.click_and_wait("#approve-extension").await;
        assert_eq!(b.text_of("#wo-due").await, "2026年3月19日");

        // Answered; the callback finds the visitor not satisfied through the handler's fault.
        b.sign_in(
            &s.url,
            "zjj1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        fill(&b, "#answer-text", "请到住建局窗口申请房屋用途证明").await;
        b.click_and_wait("#answer").await;
        assert_eq!(b.text_of("#wo-status").await, "已答复待回访");
        b.sign_in(
            &s.url,
            "cb1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        b.el("#handler_at_fault").await.click().await.unwrap();
        b.click_and_wait("#not-satisfied").await;
        assert!(
            b.el("[data-field=note]")
                .await
                .text()
                .await
                .unwrap()
                .contains("不满意的原因")
        );
        b.el("#handler_at_fault").await.click().await.unwrap();
        fill(&b, "#fb-note", "住建局窗口说不办这个证明").await;
        b.click_and_wait("#not-satisfied").await;
        assert_eq!(b.text_of("#wo-status").await, "已转办办理中");
        assert!(b.body_text().await.contains("已重新交办 1 次"));

        b.sign_in(
            &s.url,
            "zjj1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        fill(&b, "#answer-text", "已协调住建局窗口当场出具房屋用途证明").await;
        b.click_and_wait("#answer").await;
        b.sign_in(
            &s.url,
            "cb1",
            "staff2026pw",
            &format!("/work-orders/{number}"),
        )
        .await;
        pick(&b, "#level", "5").await;
        b.click_and_wait("#satisfied").await;
        assert_eq!(b.text_of("#wo-status").await, "已办结（已解决）");
        let timeline = b.text_of("#timeline").await;
        for step in [
            "受理",
            "分类转办",
            "派单异议",
            "异议成立，改派",
            "并入重复工单",
            "批准延期",
            "答复",
            "回访评价",
        ] {
            assert!(timeline.contains(step), "{step} in {timeline}");
        }
        b.screenshot("work-order-solved").await;

        // Two more orders of the kind at 住建局: the cluster is suggested for the ledger.
        for text in ["房屋用途证明不知道哪里开", "开证明要跑好几个地方"] {
            general_order(&s, &d, "13712345678", text, "zjj").await;
        }
        b.sign_in(&s.url, "mgr1", "staff2026pw", "/ledger").await;
        b.el("[data-cluster='02-zjj'] [data-take-cluster]")
            .await
            .click()
            .await
            .unwrap();
        pick(&b, "#point", "A3-2").await;
        fill(
            &b,
            "#description",
            "开办便利店需房屋用途证明，群众不知去向，反复跑",
        )
        .await;
        b.click_and_wait("#create-entry").await;
        assert_eq!(b.text_of("#entry-status").await, "整改中");
        assert!(
            b.body_text().await.contains(&number),
            "the cluster's orders are linked"
        );
        let entry_url = b.driver.current_url().await.unwrap();
        let entry = entry_url.path().to_string();

        // The owner closes it out with evidence; a supervisor approves.
        b.sign_in(&s.url, "zjj1", "staff2026pw", &entry).await;
        fill(&b, "#measures", "房屋用途证明改为部门间核验，群众免于提交").await;
        b.click_and_wait("#request-close-out").await;
        assert!(
            b.el("[data-field=evidence]")
                .await
                .text()
                .await
                .unwrap()
                .contains("佐证")
        );
        fill(&b, "#evidence", "3月5日起营业执照登记通过系统核验房屋用途").await;
        b.click_and_wait("#request-close-out").await;
        assert_eq!(b.text_of("#entry-status").await, "待审核销号");
        b.sign_in(&s.url, "sup1", "staff2026pw", &entry).await;
        b.click_and_wait("#approve-close-out").await;
        assert_eq!(b.text_of("#entry-status").await, "已销号");
        assert_eq!(b.text_of("#entry-revisit").await, "2026年4月1日");

        // A month later the revisit finds the problem back: reopened.
        s.set_clock("2026-04-01T09:30:00+08:00").await;
        s.run_due_timers().await;
        b.sign_in(&s.url, "sup1", "staff2026pw", &entry).await;
        fill(&b, "#revisit-note", "又有群众被要求提交房屋用途证明").await;
        // A date field's typing order follows the browser's locale; its value does not.
        b.driver
            .execute(
                "document.getElementById('new_deadline').value = '2026-04-30'",
                vec![],
            )
            .await
            .unwrap();
        b.click_and_wait("#reopen").await;
        assert_eq!(b.text_of("#entry-status").await, "整改中");
        assert_eq!(b.text_of("#entry-deadline").await, "2026年4月30日");
        b.screenshot("ledger-entry-reopened").await;
        b.quit().await;
        s.stop().await;
    })
    .await;
}
