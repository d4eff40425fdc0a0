//! Rules: pure functions from records to findings. No I/O here, so every rule is
//! tested with records built in the test itself.

pub mod baseline;
pub mod execution;
pub mod file;
pub mod history;
pub mod process;
pub mod registry;
pub mod support;
pub mod windows;

use crate::model::Severity;

/// One line of the rule catalogue (`smss-triage rules`, `docs/rules.md`).
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    pub id: &'static str,
    /// The usual severity; some rules lower it with context (documented per rule).
    pub severity: Severity,
    pub attack: &'static str,
    pub applies_to: &'static str,
    pub summary: &'static str,
}

/// Every rule the tool can raise.
pub fn catalogue() -> Vec<RuleInfo> {
    let mut all = Vec::new();
    all.extend_from_slice(file::RULES);
    all.extend_from_slice(registry::RULES);
    all.extend_from_slice(process::RULES);
    all.extend_from_slice(history::RULES);
    all.extend_from_slice(execution::RULES);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique() {
        let mut seen = HashSet::new();
        for r in catalogue() {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(r.attack.starts_with('T'), "{} has no ATT&CK id", r.id);
        }
    }

    #[test]
    fn every_rule_is_documented() {
        let doc = include_str!("../../docs/rules.md");
        for r in catalogue() {
            assert!(
                doc.contains(&format!("`{}`", r.id)),
                "docs/rules.md lacks {}",
                r.id
            );
        }
    }
}
