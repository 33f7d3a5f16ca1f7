//! Rows read on the writer's connection ([`crate::direct::read`]) decoded by serde straight
//! from SQLite's cells.
//!
//! The turn's reads first built a `serde_json` object per row (every column's name copied,
//! every cell made a JSON value) and decoded that. For the hall's line head, eight rows of
//! twenty-two columns, the copies were most of the statement's time in the writer's turn
//! (issue 9). Here a row is a serde map over its column names and cells as they are.

use std::fmt;

use rusqlite::types::ValueRef;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Why a row did not decode into the type asked for.
#[derive(Debug)]
pub(crate) struct CellError(String);

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CellError {}

impl de::Error for CellError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CellError(msg.to_string())
    }
}

/// One row: a map from column name to cell.
pub(crate) struct Row<'a, 'r> {
    pub names: &'a [String],
    pub row: &'a rusqlite::Row<'r>,
}

impl<'de> de::Deserializer<'de> for Row<'_, '_> {
    type Error = CellError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CellError> {
        visitor.visit_map(Cells { row: self, at: 0 })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct Cells<'a, 'r> {
    row: Row<'a, 'r>,
    at: usize,
}

impl<'de> MapAccess<'de> for Cells<'_, '_> {
    type Error = CellError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CellError> {
        match self.row.names.get(self.at) {
            Some(name) => seed
                .deserialize(IntoDeserializer::<CellError>::into_deserializer(
                    name.as_str(),
                ))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, CellError> {
        let cell = self
            .row
            .row
            .get_ref(self.at)
            .map_err(|e| CellError(e.to_string()))?;
        self.at += 1;
        seed.deserialize(Cell(cell))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.names.len().saturating_sub(self.at))
    }
}

/// One cell. SQLite stores a bool as an integer, so a `bool` field takes 0 and 1 (inside a
/// `#[serde(flatten)]` struct serde buffers the cell first and only sees an integer).
struct Cell<'a>(ValueRef<'a>);

impl<'de> de::Deserializer<'de> for Cell<'_> {
    type Error = CellError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CellError> {
        match self.0 {
            ValueRef::Null => visitor.visit_unit(),
            ValueRef::Integer(i) => visitor.visit_i64(i),
            ValueRef::Real(f) => visitor.visit_f64(f),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => visitor.visit_str(s),
                Err(_) => visitor.visit_string(String::from_utf8_lossy(t).into_owned()),
            },
            ValueRef::Blob(b) => visitor.visit_bytes(b),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CellError> {
        match self.0 {
            ValueRef::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CellError> {
        match self.0 {
            ValueRef::Integer(i) => visitor.visit_bool(i != 0),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CellError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}
