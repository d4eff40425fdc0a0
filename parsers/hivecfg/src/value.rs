//! A registry value as a fact: name, type name and data in a serialisable shape.
use serde::Serialize;
use triage_regf::{Value, ValueData};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegValue {
    pub name: String,
    /// `REG_SZ`, `REG_MULTI_SZ`, ... (unknown types as hex).
    pub value_type: String,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Data {
    Text(String),
    /// REG_MULTI_SZ, empty strings kept.
    List(Vec<String>),
    Number(u64),
    Bytes(Vec<u8>),
}

impl RegValue {
    pub fn from_value(v: &Value<'_>) -> Result<RegValue, triage_regf::RegfError> {
        let data = match v.data()? {
            ValueData::Sz(s) | ValueData::ExpandSz(s) | ValueData::Link(s) => Data::Text(s),
            ValueData::MultiSz(l) => Data::List(l),
            ValueData::Dword(n) | ValueData::DwordBigEndian(n) => Data::Number(n as u64),
            ValueData::Qword(n) => Data::Number(n),
            ValueData::Empty { .. } => Data::Bytes(Vec::new()),
            ValueData::None(b)
            | ValueData::Binary(b)
            | ValueData::ResourceList(b)
            | ValueData::FullResourceDescriptor(b)
            | ValueData::ResourceRequirementsList(b)
            | ValueData::Other { raw: b, .. } => Data::Bytes(b.into_owned()),
        };
        Ok(RegValue {
            name: v.name().into_owned(),
            value_type: v.type_name().into_owned(),
            data,
        })
    }

    /// The strings of a REG_SZ/EXPAND_SZ (one) or REG_MULTI_SZ (all); empty for other types.
    pub fn strings(&self) -> Vec<String> {
        match &self.data {
            Data::Text(s) => vec![s.clone()],
            Data::List(l) => l.clone(),
            _ => Vec::new(),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match &self.data {
            Data::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<u64> {
        match self.data {
            Data::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Display form: text as is, lists joined with ` | `, numbers in decimal, bytes as hex.
    pub fn display(&self) -> String {
        self.data.display()
    }
}

impl Data {
    pub fn display(&self) -> String {
        match self {
            Data::Text(s) => s.clone(),
            Data::List(l) => l.join(" | "),
            Data::Number(n) => n.to_string(),
            Data::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }
}
