//! Process rules over memory-dump process records. Filled in with the memory analyser.

use super::RuleInfo;

pub const RULES: &[RuleInfo] = &[];
