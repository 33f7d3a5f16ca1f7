//! `GET /metrics` (API-V1): Prometheus text for admins and supervisors, with requests by route
//! pattern (never a raw path), waiting tickets, late work orders, timers due and the pool.

use crate::hall::take_ok;
use crate::ratings::desk;
use crate::support::{TestServer, client, on_each_backend};
use crate::work_orders::general_order;

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_halls_queues_and_late_orders_to_admins_only()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-05T10:00:00+08:00").await;
        let mut d = desk(&s).await;
        let n = general_order(&s, &d, "13812345678", "叫号屏不亮", "scj").await;
        s.get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        // After the due date (Thu 03-12) the order is late.
        s.set_clock("2026-03-13T08:00:00+08:00").await;
        d.again(&s).await;
        take_ok(&s, None, "a").await;

        let r = client().get(s.at("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = client()
            .get(s.at("/metrics"))
            .bearer_auth(&d.clerk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = client()
            .get(s.at("/metrics"))
            .bearer_auth(&d.supervisor)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = r.text().await.unwrap();
        for line in [
            "yichuang_http_requests_total{method=\"GET\",route=\"/api/v1/work-orders/{number}\",status=\"200\"} 1",
            "yichuang_http_requests_total{method=\"POST\",route=\"/api/v1/work-orders\",status=\"201\"} 1",
            "yichuang_tickets_waiting{hall=\"YL\"} 1",
            "yichuang_work_orders_open{due=\"all\"} 1",
            "yichuang_work_orders_open{due=\"overdue\"} 1",
            "yichuang_cases_open{due=\"overdue\"} 0",
            "# TYPE yichuang_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        // The worker fires what is due, so only the gauge's presence is certain here.
        assert!(text.contains("# TYPE yichuang_timers_due gauge"));
        assert!(text.contains("yichuang_db_connections{state=\"open\"}"));
        assert!(!text.contains(&n), "no raw paths in labels");
        s.stop().await;
    })
    .await;
}
