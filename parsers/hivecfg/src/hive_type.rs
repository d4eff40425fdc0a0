//! What kind of hive this is, judged by content (root subkeys), then by the base block's
//! embedded file name; never by the file's name on disk, which an attacker controls.
use serde::Serialize;
use triage_regf::{names_equal, Hive};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HiveType {
    System,
    Software,
    Sam,
    Security,
    Ntuser,
    UsrClass,
    Amcache,
    Bcd,
    Unknown,
}

/// Reads at most the root's first 4096 subkey names.
pub fn hive_type(hive: &Hive<'_>) -> HiveType {
    let names: Vec<String> = match hive.root() {
        Ok(root) => root
            .subkeys()
            .take(4096)
            .flatten()
            .map(|k| k.name().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    let has = |n: &str| names.iter().any(|x| names_equal(x, n));
    let by_content = if has("Select")
        && names
            .iter()
            .any(|n| n.to_ascii_lowercase().starts_with("controlset"))
    {
        HiveType::System
    } else if has("SAM") && names.len() <= 2 {
        HiveType::Sam
    } else if has("Policy") && (has("RXACT") || has("Cache")) {
        HiveType::Security
    } else if has("Objects") && has("Description") {
        HiveType::Bcd
    } else if has("Software") && (has("Control Panel") || has("Environment") || has("AppEvents")) {
        HiveType::Ntuser
    } else if has("Root") && amcache_root(hive) {
        HiveType::Amcache
    } else if has("Local Settings") || (has("CLSID") && names.iter().any(|n| n.starts_with('.'))) {
        HiveType::UsrClass
    } else if has("Microsoft")
        && (has("Classes") || has("Clients") || has("Policies") || has("Wow6432Node"))
    {
        HiveType::Software
    } else {
        HiveType::Unknown
    };
    if by_content != HiveType::Unknown {
        return by_content;
    }
    by_file_name(&hive.base_block().file_name)
}

fn amcache_root(hive: &Hive<'_>) -> bool {
    let Ok(root) = hive.open_key("Root") else {
        return false;
    };
    [
        "File",
        "Programs",
        "InventoryApplicationFile",
        "InventoryApplication",
    ]
    .iter()
    .any(|n| matches!(root.subkey(n), Ok(Some(_))))
}

fn by_file_name(name: &str) -> HiveType {
    let last = name
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match last.as_str() {
        "system" => HiveType::System,
        "software" => HiveType::Software,
        "sam" => HiveType::Sam,
        "security" => HiveType::Security,
        "ntuser.dat" => HiveType::Ntuser,
        "usrclass.dat" => HiveType::UsrClass,
        "amcache.hve" => HiveType::Amcache,
        "bcd" => HiveType::Bcd,
        _ => HiveType::Unknown,
    }
}
