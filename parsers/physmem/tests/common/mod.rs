#![allow(dead_code, unused_imports)]
pub use triage_testkit::shared_dir;
