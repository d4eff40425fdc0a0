//! Arbitrary bytes as ISF JSON (and as .xz): must return Ok/Err, never panic, and lookups on
//! whatever loads must not panic either (cyclic or absurd type references included).
#![no_main]
use libfuzzer_sys::fuzz_target;
use triage_isf::Isf;

fuzz_target!(|data: &[u8]| {
    if let Ok(isf) = Isf::from_json_bytes(data, "fuzz.json") {
        for (name, t) in isf.user_types.iter().take(8) {
            let _ = isf.struct_size(name);
            for (f, field) in t.fields.iter().take(8) {
                let _ = isf.field(name, f);
                let _ = isf.bitfield(name, f);
                let _ = isf.type_size(&field.ty);
                let _ = isf.field(name, &format!("{f}.{f}.{f}"));
            }
        }
    }
    let _ = triage_isf::decompress_xz(data, std::path::Path::new("fuzz.json.xz"));
});
