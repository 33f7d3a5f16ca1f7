//! The one integration-test binary: the real server on port 0, real databases (SQLite always,
//! PostgreSQL when YICHUANG_TEST_DATABASE_URL is set), real HTTP, and Chromium for the pages.

mod browser;
mod support;

mod abandoned;
mod accounts;
mod agency;
mod agency_browser;
mod backup;
mod caches;
mod calendar;
mod case_materials_browser;
mod cases;
mod cases_browser;
mod cases_pages;
mod cases_restart;
mod catalogue;
mod catalogue_browser;
mod contract;
mod demo;
mod demo_flow;
mod foundation;
mod hall;
mod hall_appointments;
mod hall_pages;
mod hall_screens;
mod hardening;
mod landing;
mod lockers;
mod lockers_browser;
mod metrics;
mod network;
mod page_errors;
mod pages;
mod papers;
mod phone_menu;
mod printing;
mod query_browser;
mod ratings;
mod ratings_browser;
mod supervision;
mod work_orders;
mod work_orders_browser;
