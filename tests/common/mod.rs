//! Fixtures for the integration tests, found in one place.
#![allow(dead_code, unused_imports)]

pub mod scenarios;

pub use triage_testkit::{repo_dir, samples_dir, shared_dir};

/// Parse CSV text into a header and rows of (column -> value).
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .expect("csv header")
        .iter()
        .map(String::from)
        .collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}
