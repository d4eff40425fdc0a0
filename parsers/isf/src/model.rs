use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A loaded ISF file: the layouts and symbols of one PDB.
#[derive(Debug, Clone, Serialize)]
pub struct Isf {
    /// Name the file was loaded from (for messages).
    pub source_name: String,
    pub metadata: Metadata,
    pub base_types: HashMap<String, BaseType>,
    pub user_types: HashMap<String, UserType>,
    pub enums: HashMap<String, EnumType>,
    pub symbols: HashMap<String, Symbol>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Metadata {
    /// ISF format version, e.g. "6.1.0".
    pub format: String,
    /// `metadata.windows.pdb`, when present.
    pub pdb: Option<PdbId>,
}

/// Identity of the PDB an ISF was made from; the key Volatility uses to find it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PdbId {
    /// e.g. "ntkrnlmp.pdb"
    pub database: String,
    /// 32 upper-case hex digits, as in the symbol-server path.
    pub guid: String,
    pub age: u32,
    /// IMAGE_FILE_MACHINE_* (0x8664 for x64), when recorded.
    pub machine_type: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BaseType {
    pub size: u64,
    pub signed: bool,
    /// "int", "char", "float", "bool", "void"
    pub kind: String,
    pub little_endian: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Aggregate {
    Struct,
    Union,
    Class,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserType {
    pub kind: Aggregate,
    pub size: u64,
    pub fields: HashMap<String, Field>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Field {
    pub offset: u64,
    pub ty: TypeDesc,
}

/// A type reference as ISF writes it inside fields and symbols.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum TypeDesc {
    Base(String),
    /// A struct, union or class by name (look it up in `user_types`).
    User {
        kind: Aggregate,
        name: String,
    },
    Enum(String),
    Pointer(Box<TypeDesc>),
    Array {
        count: u64,
        element: Box<TypeDesc>,
    },
    Bitfield {
        bit_position: u32,
        bit_length: u32,
        storage: Box<TypeDesc>,
    },
    Function,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnumType {
    pub size: u64,
    pub base: String,
    pub constants: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Symbol {
    /// Offset from the module's load address (an RVA for the kernel).
    pub address: u64,
    pub ty: Option<TypeDesc>,
}

/// Where a (possibly nested) field lives, resolved from the struct start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResolvedField {
    pub offset: u64,
    pub ty: TypeDesc,
    /// Byte size of the field's storage when known (for bitfields: of the storage unit).
    pub size: Option<u64>,
}

/// Position of a bitfield inside its storage unit.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct BitfieldPos {
    /// Byte offset of the storage unit from the struct start.
    pub offset: u64,
    pub storage_size: u64,
    pub bit_position: u32,
    pub bit_length: u32,
}

const MAX_NESTING: usize = 16;

impl Isf {
    pub fn pdb(&self) -> Option<&PdbId> {
        self.metadata.pdb.as_ref()
    }

    pub fn struct_size(&self, name: &str) -> Option<u64> {
        self.user_types.get(name).map(|t| t.size)
    }

    pub fn symbol_rva(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).map(|s| s.address)
    }

    /// Offset of `path` ("UniqueProcessId" or "Pcb.DirectoryTableBase") from the start of `struct_name`.
    pub fn field_offset(&self, struct_name: &str, path: &str) -> Option<u64> {
        self.field(struct_name, path).map(|f| f.offset)
    }

    /// Resolve a dotted field path; each step but the last must be an embedded struct/union.
    pub fn field(&self, struct_name: &str, path: &str) -> Option<ResolvedField> {
        let mut current = struct_name;
        let mut base = 0u64;
        let mut parts = path.split('.').peekable();
        let mut steps = 0;
        while let Some(part) = parts.next() {
            steps += 1;
            if steps > MAX_NESTING {
                return None;
            }
            let field = self.user_types.get(current)?.fields.get(part)?;
            let offset = base.checked_add(field.offset)?;
            if parts.peek().is_none() {
                return Some(ResolvedField {
                    offset,
                    size: self.type_size(&field.ty),
                    ty: field.ty.clone(),
                });
            }
            match &field.ty {
                TypeDesc::User { name, .. } => {
                    current = name;
                    base = offset;
                }
                _ => return None,
            }
        }
        None
    }

    /// Bit position and length of a bitfield such as `_EPROCESS.Flags2` members or `"Pcb.Flags.AutoAlignment"`.
    pub fn bitfield(&self, struct_name: &str, path: &str) -> Option<BitfieldPos> {
        let f = self.field(struct_name, path)?;
        match f.ty {
            TypeDesc::Bitfield {
                bit_position,
                bit_length,
                storage,
            } => Some(BitfieldPos {
                offset: f.offset,
                storage_size: self.type_size(&storage)?,
                bit_position,
                bit_length,
            }),
            _ => None,
        }
    }

    /// Byte size of a type, when it is knowable from this file.
    pub fn type_size(&self, ty: &TypeDesc) -> Option<u64> {
        self.type_size_depth(ty, 0)
    }

    fn type_size_depth(&self, ty: &TypeDesc, depth: usize) -> Option<u64> {
        if depth > MAX_NESTING {
            return None;
        }
        match ty {
            TypeDesc::Base(name) => self.base_types.get(name).map(|b| b.size),
            TypeDesc::User { name, .. } => self.struct_size(name),
            TypeDesc::Enum(name) => self.enums.get(name).map(|e| e.size),
            TypeDesc::Pointer(_) => self.base_types.get("pointer").map(|b| b.size),
            TypeDesc::Array { count, element } => self
                .type_size_depth(element, depth + 1)?
                .checked_mul(*count),
            TypeDesc::Bitfield { storage, .. } => self.type_size_depth(storage, depth + 1),
            TypeDesc::Function => None,
        }
    }

    /// Value of an enum constant, e.g. `("_TOKEN_TYPE", "TokenPrimary")`.
    pub fn enum_value(&self, enum_name: &str, constant: &str) -> Option<i64> {
        self.enums.get(enum_name)?.constants.get(constant).copied()
    }

    /// Pointer width in bytes (8 for x64 kernels).
    pub fn pointer_size(&self) -> Option<u64> {
        self.base_types.get("pointer").map(|b| b.size)
    }
}
