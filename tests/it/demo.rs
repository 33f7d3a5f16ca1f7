//! `yichuang demo`: the demo data set loads into an empty database, once.

use crate::support::{TestServer, config, on_each_backend};

#[tokio::test]
async fn the_demo_loads_a_whole_municipal_centre_into_an_empty_database_once() {
    on_each_backend(|url| async move {
        let mut c = config(&url);
        c.demo = true;
        c.admin_password = None;
        let s = TestServer::start_with(c.clone()).await;
        let (status, v) = s.get_json("/api/v1/items?per_page=100", None).await;
        assert_eq!(status, 200);
        let total = v["total"].as_i64().unwrap();
        assert!(total >= 30, "{total} items");
        // The README's administrator password works, and so does a demo clerk's.
        let admin = s
            .token("admin", yichuang_server::demo::DEMO_ADMIN_PASSWORD)
            .await;
        let (_, me) = s.get_json("/api/v1/auth/me", Some(&admin)).await;
        assert_eq!(
            me["role"].as_str().or(me["account"]["role"].as_str()),
            Some("admin"),
            "{me}"
        );
        let setup = yichuang_server::demo::halls().unwrap();
        let clerk = setup
            .staff
            .iter()
            .find(|a| a.role == yichuang_domain::Role::Clerk)
            .unwrap();
        s.token(&clerk.username, &setup.demo_password).await;
        // The bundles a hall director expects are there.
        let (_, b) = s.get_json("/api/v1/bundles", None).await;
        let names = b.to_string();
        assert!(
            names.contains("开办企业") && names.contains("二手房"),
            "{names}"
        );
        // The city hall's office hours came with it.
        let (status, hours) = s
            .get_json(
                &format!("/api/v1/halls/{}/office-hours", setup.halls[0].code),
                None,
            )
            .await;
        assert_eq!(status, 200, "{hours}");
        assert_eq!(hours["default"], false, "{hours}");
        s.stop().await;

        // A second start on the same database loads nothing again.
        let s = TestServer::start_with(c).await;
        let (_, v2) = s.get_json("/api/v1/items?per_page=100", None).await;
        assert_eq!(v2["total"].as_i64().unwrap(), total);
        s.stop().await;
    })
    .await;
}
