//! A fresh store of each backend there is: SQLite always, PostgreSQL from
//! `MS5_TEST_POSTGRES_URL` (scripts/test.sh starts one); without it only SQLite, unless
//! `MS5_REQUIRE_POSTGRES` is set.

use ms5::store::Store;

/// `(backend name, migrated store, folder it lives in)` for each backend, named by `test`.
pub async fn stores(test: &str) -> Vec<(&'static str, Store, tempfile::TempDir)> {
    let dir = super::temp();
    let sqlite = Store::connect(&format!("sqlite://{}/ms5.db", dir.path().display()))
        .await
        .expect("sqlite");
    sqlite.migrate().await.expect("migrate sqlite");
    let mut out = vec![("sqlite", sqlite, dir)];
    if let Some(server) = postgres_server() {
        let dir = super::temp();
        let url = super::postgres_database(&server, &format!("{test}::{}", dir.path().display())).await;
        let pg = Store::connect(&url).await.expect("postgres");
        pg.migrate().await.expect("migrate postgres");
        out.push(("postgres", pg, dir));
    }
    out
}

/// The test PostgreSQL server, if there is one (required when `MS5_REQUIRE_POSTGRES` is set).
pub fn postgres_server() -> Option<String> {
    match std::env::var("MS5_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("MS5_REQUIRE_POSTGRES").is_some() => {
            panic!("MS5_REQUIRE_POSTGRES is set but MS5_TEST_POSTGRES_URL is not")
        }
        Err(_) => {
            eprintln!("skipping PostgreSQL: MS5_TEST_POSTGRES_URL is not set");
            None
        }
    }
}
