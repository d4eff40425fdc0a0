//! Session Manager and IFEO rules over registry facts. Filled in with the hive analyser.

use super::RuleInfo;

pub const RULES: &[RuleInfo] = &[];
