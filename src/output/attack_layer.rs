//! `attack-layer.json`: the techniques of the findings as an ATT&CK Navigator layer
//! (layer format 4.5), so the findings can be laid over the matrix.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::{InputReport, Severity};

/// The ATT&CK and Navigator versions the layer declares.
pub const ATTACK_VERSION: &str = "16";
pub const NAVIGATOR_VERSION: &str = "5.1.0";
pub const LAYER_VERSION: &str = "4.5";

/// A severity as a Navigator score: info 1 … critical 5.
pub fn score(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// The layer: one technique per ATT&CK id of the findings, scored by its highest
/// severity, with the rule ids and their counts as the comment.
pub fn layer(reports: &[InputReport]) -> Value {
    // technique -> (highest severity, rule -> count); BTreeMaps keep the output stable.
    let mut by_tech: BTreeMap<&str, (Severity, BTreeMap<&str, usize>)> = BTreeMap::new();
    for f in reports.iter().flat_map(|r| &r.findings) {
        if f.attack.is_empty() {
            continue;
        }
        let e = by_tech
            .entry(f.attack)
            .or_insert((f.severity, BTreeMap::new()));
        e.0 = e.0.max(f.severity);
        *e.1.entry(f.rule).or_insert(0) += 1;
    }
    let techniques: Vec<Value> = by_tech
        .iter()
        .map(|(id, (sev, rules))| {
            let comment = rules
                .iter()
                .map(|(r, n)| format!("{r} ×{n}"))
                .collect::<Vec<_>>()
                .join("; ");
            json!({
                "techniqueID": id,
                "score": score(*sev),
                "comment": comment,
                "enabled": true,
                "showSubtechniques": false,
            })
        })
        .collect();
    let inputs = reports.len();
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    json!({
        "name": "smss-triage findings",
        "versions": {
            "attack": ATTACK_VERSION,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": format!(
            "smss-triage: {findings} findings over {inputs} inputs; score = highest severity (info 1, low 2, medium 3, high 4, critical 5)"
        ),
        "sorting": 3,
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {
            "colors": ["#ffffcc", "#fd8d3c", "#bd0026"],
            "minValue": 1,
            "maxValue": 5,
        },
        "legendItems": [
            {"label": "info", "color": "#ffffcc"},
            {"label": "low", "color": "#fed976"},
            {"label": "medium", "color": "#fd8d3c"},
            {"label": "high", "color": "#f03b20"},
            {"label": "critical", "color": "#bd0026"},
        ],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}
