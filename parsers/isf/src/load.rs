//! JSON → model conversion. Walks a `serde_json::Value` by hand so that every
//! shape error names the JSON path that was wrong.
use crate::error::IsfError;
use crate::model::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Real kernel ISFs decompress to ~7 MB; anything beyond this is not an ISF.
pub const MAX_DECOMPRESSED: u64 = 512 * 1024 * 1024;
const MAX_TYPE_DEPTH: usize = 32;

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn shape(&self, json_path: impl Into<String>, expected: &'static str) -> IsfError {
        IsfError::Shape {
            file: self.file.to_string(),
            json_path: json_path.into(),
            expected,
        }
    }
    fn obj<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, IsfError> {
        v.as_object().ok_or_else(|| self.shape(path, "an object"))
    }
    fn member<'v>(
        &self,
        m: &'v Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Result<&'v Value, IsfError> {
        m.get(key)
            .ok_or_else(|| self.shape(format!("{path}/{key}"), "a required member"))
    }
    fn u64_at(&self, m: &Map<String, Value>, path: &str, key: &str) -> Result<u64, IsfError> {
        self.member(m, path, key)?
            .as_u64()
            .ok_or_else(|| self.shape(format!("{path}/{key}"), "an unsigned integer"))
    }
    fn str_at<'v>(
        &self,
        m: &'v Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Result<&'v str, IsfError> {
        self.member(m, path, key)?
            .as_str()
            .ok_or_else(|| self.shape(format!("{path}/{key}"), "a string"))
    }
}

impl Isf {
    /// Load a `.json` or `.json.xz` file (decided by the `.xz` suffix).
    pub fn load(path: &Path) -> Result<Isf, IsfError> {
        let bytes = std::fs::read(path).map_err(|source| IsfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.display().to_string();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xz"))
        {
            let json = decompress_xz(&bytes, path)?;
            Isf::from_json_bytes(&json, &name)
        } else {
            Isf::from_json_bytes(&bytes, &name)
        }
    }

    /// Parse ISF JSON text; `source_name` only labels error messages.
    pub fn from_json_bytes(bytes: &[u8], source_name: &str) -> Result<Isf, IsfError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|source| IsfError::Json {
            file: source_name.to_string(),
            source,
        })?;
        from_value(&value, source_name)
    }
}

/// Decompress an `.xz` stream, refusing output larger than [`MAX_DECOMPRESSED`].
pub fn decompress_xz(bytes: &[u8], path: &Path) -> Result<Vec<u8>, IsfError> {
    let mut out = LimitedWriter {
        buf: Vec::with_capacity(bytes.len().saturating_mul(8).min(64 << 20)),
        limit: MAX_DECOMPRESSED,
    };
    let mut input = std::io::BufReader::new(bytes);
    match lzma_rs::xz_decompress(&mut input, &mut out) {
        Ok(()) => Ok(out.buf),
        Err(_) if out.buf.len() as u64 >= MAX_DECOMPRESSED => Err(IsfError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DECOMPRESSED,
        }),
        Err(e) => Err(IsfError::Xz {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

struct LimitedWriter {
    buf: Vec<u8>,
    limit: u64,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
            return Err(std::io::Error::other("decompressed size limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn from_value(v: &Value, file: &str) -> Result<Isf, IsfError> {
    let cx = Ctx { file };
    let root = cx.obj(v, "")?;
    let metadata = metadata(&cx, cx.member(root, "", "metadata")?)?;

    let mut base_types = HashMap::new();
    for (name, bt) in cx.obj(cx.member(root, "", "base_types")?, "/base_types")? {
        let path = format!("/base_types/{name}");
        let m = cx.obj(bt, &path)?;
        base_types.insert(
            name.clone(),
            BaseType {
                size: cx.u64_at(m, &path, "size")?,
                signed: m.get("signed").and_then(Value::as_bool).unwrap_or(false),
                kind: cx.str_at(m, &path, "kind")?.to_string(),
                little_endian: m.get("endian").and_then(Value::as_str) != Some("big"),
            },
        );
    }

    let mut user_types = HashMap::new();
    for (name, ut) in cx.obj(cx.member(root, "", "user_types")?, "/user_types")? {
        let path = format!("/user_types/{name}");
        let m = cx.obj(ut, &path)?;
        let kind = aggregate(cx.str_at(m, &path, "kind")?)
            .ok_or_else(|| cx.shape(format!("{path}/kind"), "struct, union or class"))?;
        let fields_path = format!("{path}/fields");
        let mut fields = HashMap::new();
        for (fname, f) in cx.obj(cx.member(m, &path, "fields")?, &fields_path)? {
            let fpath = format!("{fields_path}/{fname}");
            let fm = cx.obj(f, &fpath)?;
            let ty = type_desc(
                &cx,
                cx.member(fm, &fpath, "type")?,
                &format!("{fpath}/type"),
                0,
            )?;
            fields.insert(
                fname.clone(),
                Field {
                    offset: cx.u64_at(fm, &fpath, "offset")?,
                    ty,
                },
            );
        }
        user_types.insert(
            name.clone(),
            UserType {
                kind,
                size: cx.u64_at(m, &path, "size")?,
                fields,
            },
        );
    }

    let mut enums = HashMap::new();
    if let Some(ev) = root.get("enums") {
        for (name, e) in cx.obj(ev, "/enums")? {
            let path = format!("/enums/{name}");
            let m = cx.obj(e, &path)?;
            let cpath = format!("{path}/constants");
            let mut constants = BTreeMap::new();
            for (cname, c) in cx.obj(cx.member(m, &path, "constants")?, &cpath)? {
                let value = c
                    .as_i64()
                    .or_else(|| c.as_u64().map(|u| u as i64))
                    .ok_or_else(|| cx.shape(format!("{cpath}/{cname}"), "an integer"))?;
                constants.insert(cname.clone(), value);
            }
            enums.insert(
                name.clone(),
                EnumType {
                    size: cx.u64_at(m, &path, "size")?,
                    base: cx.str_at(m, &path, "base")?.to_string(),
                    constants,
                },
            );
        }
    }

    let mut symbols = HashMap::new();
    for (name, s) in cx.obj(cx.member(root, "", "symbols")?, "/symbols")? {
        let path = format!("/symbols/{name}");
        let m = cx.obj(s, &path)?;
        let ty = match m.get("type") {
            Some(t) => Some(type_desc(&cx, t, &format!("{path}/type"), 0)?),
            None => None,
        };
        symbols.insert(
            name.clone(),
            Symbol {
                address: cx.u64_at(m, &path, "address")?,
                ty,
            },
        );
    }

    Ok(Isf {
        source_name: file.to_string(),
        metadata,
        base_types,
        user_types,
        enums,
        symbols,
    })
}

fn metadata(cx: &Ctx, v: &Value) -> Result<Metadata, IsfError> {
    let m = cx.obj(v, "/metadata")?;
    let format = cx.str_at(m, "/metadata", "format")?.to_string();
    let pdb = match m.get("windows").and_then(|w| w.get("pdb")) {
        None => None,
        Some(p) => {
            let path = "/metadata/windows/pdb";
            let pm = cx.obj(p, path)?;
            let age = cx.u64_at(pm, path, "age")?;
            Some(PdbId {
                database: cx.str_at(pm, path, "database")?.to_string(),
                guid: cx.str_at(pm, path, "GUID")?.to_ascii_uppercase(),
                age: u32::try_from(age)
                    .map_err(|_| cx.shape(format!("{path}/age"), "a 32-bit age"))?,
                machine_type: pm
                    .get("machine_type")
                    .and_then(Value::as_u64)
                    .and_then(|x| u32::try_from(x).ok()),
            })
        }
    };
    Ok(Metadata { format, pdb })
}

fn aggregate(kind: &str) -> Option<Aggregate> {
    match kind {
        "struct" => Some(Aggregate::Struct),
        "union" => Some(Aggregate::Union),
        "class" => Some(Aggregate::Class),
        _ => None,
    }
}

fn type_desc(cx: &Ctx, v: &Value, path: &str, depth: usize) -> Result<TypeDesc, IsfError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(IsfError::TooDeep {
            file: cx.file.to_string(),
            json_path: path.to_string(),
            limit: MAX_TYPE_DEPTH,
        });
    }
    let m = cx.obj(v, path)?;
    let kind = cx.str_at(m, path, "kind")?;
    let nested = |key: &str| -> Result<Box<TypeDesc>, IsfError> {
        let sub = cx.member(m, path, key)?;
        Ok(Box::new(type_desc(
            cx,
            sub,
            &format!("{path}/{key}"),
            depth + 1,
        )?))
    };
    Ok(match kind {
        "base" => TypeDesc::Base(cx.str_at(m, path, "name")?.to_string()),
        "struct" | "union" | "class" => TypeDesc::User {
            kind: aggregate(kind).unwrap_or(Aggregate::Struct),
            name: cx.str_at(m, path, "name")?.to_string(),
        },
        "enum" => TypeDesc::Enum(cx.str_at(m, path, "name")?.to_string()),
        "pointer" => TypeDesc::Pointer(nested("subtype")?),
        "array" => TypeDesc::Array {
            count: cx.u64_at(m, path, "count")?,
            element: nested("subtype")?,
        },
        "bitfield" => {
            let pos = cx.u64_at(m, path, "bit_position")?;
            let len = cx.u64_at(m, path, "bit_length")?;
            if pos > 128 || len == 0 || len > 64 {
                return Err(cx.shape(path, "bit_position <= 128 and 1 <= bit_length <= 64"));
            }
            TypeDesc::Bitfield {
                bit_position: pos as u32,
                bit_length: len as u32,
                storage: nested("type")?,
            }
        }
        "function" => TypeDesc::Function,
        _ => return Err(cx.shape(format!("{path}/kind"), "a known type kind")),
    })
}
