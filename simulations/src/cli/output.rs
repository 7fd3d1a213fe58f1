//! `--json` and `--csv`: every subcommand's records, written the same way.
//!
//! The CSV has one row per record and one column per field, in the JSON's field order,
//! numbers as Rust prints them (`1`, `0.25`, `inf`). A pair (a 99% interval) becomes two
//! columns, `NAME_low` and `NAME_high`; a field holding a list of records (RAPPOR's `values`)
//! is left out of the CSV (it is in the JSON); a missing optional value is an empty cell.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use serde::ser::{self, Impossible};

use super::BoxError;

/// The `--json` and `--csv` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Write the records (one per printed row) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the records as CSV here (one row per record; pairs as NAME_low, NAME_high).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

impl OutputArgs {
    /// Writes `records` where asked: the JSON as an array, the CSV one row each.
    pub fn write<T: Serialize>(&self, records: &[T]) -> Result<(), BoxError> {
        self.write_json(&records)?;
        self.write_csv(records)
    }

    /// Writes `value` as pretty JSON to `--json`, when given.
    pub fn write_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), BoxError> {
        if let Some(path) = &self.json {
            write(path, &serde_json::to_vec_pretty(value)?)?;
        }
        Ok(())
    }

    /// Writes `records` as CSV to `--csv`, when given.
    pub fn write_csv<T: Serialize>(&self, records: &[T]) -> Result<(), BoxError> {
        if let Some(path) = &self.csv {
            write(path, to_csv(records)?.as_bytes())?;
        }
        Ok(())
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BoxError> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// `records` as CSV: a header from the first record's fields, then a row per record.
pub fn to_csv<T: Serialize>(records: &[T]) -> Result<String, CsvError> {
    let mut out = String::new();
    for (i, record) in records.iter().enumerate() {
        let row = record.serialize(RowSerializer::default())?;
        if i == 0 {
            out.push_str(&row.columns.join(","));
            out.push('\n');
        }
        out.push_str(&row.cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// A record that is not a struct of numbers, strings, options and pairs.
#[derive(Debug, thiserror::Error)]
#[error("cannot write CSV: {0}")]
pub struct CsvError(String);

impl ser::Error for CsvError {
    fn custom<T: Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One record's columns and cells.
#[derive(Debug, Default)]
struct Row {
    columns: Vec<String>,
    cells: Vec<String>,
}

/// Serializes a record (a struct) into a [`Row`].
#[derive(Debug, Default)]
struct RowSerializer {
    row: Row,
}

/// What a field serializes to.
enum Cell {
    /// One cell.
    One(String),
    /// A tuple of scalars: a cell each.
    Many(Vec<String>),
    /// A list or a nested record: not in the CSV.
    Skip,
}

macro_rules! not_a_record {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, CsvError> {
            Err(CsvError(concat!("a record must be a struct, not ", stringify!($method)).into()))
        })*
    };
}

impl ser::Serializer for RowSerializer {
    type Ok = Row;
    type Error = CsvError;
    type SerializeSeq = Impossible<Row, CsvError>;
    type SerializeTuple = Impossible<Row, CsvError>;
    type SerializeTupleStruct = Impossible<Row, CsvError>;
    type SerializeTupleVariant = Impossible<Row, CsvError>;
    type SerializeMap = Impossible<Row, CsvError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<Row, CsvError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CsvError> {
        Ok(self)
    }

    not_a_record! {
        serialize_bool(bool) -> Row;
        serialize_i8(i8) -> Row;
        serialize_i16(i16) -> Row;
        serialize_i32(i32) -> Row;
        serialize_i64(i64) -> Row;
        serialize_u8(u8) -> Row;
        serialize_u16(u16) -> Row;
        serialize_u32(u32) -> Row;
        serialize_u64(u64) -> Row;
        serialize_f32(f32) -> Row;
        serialize_f64(f64) -> Row;
        serialize_char(char) -> Row;
        serialize_str(&str) -> Row;
        serialize_bytes(&[u8]) -> Row;
        serialize_none() -> Row;
        serialize_unit() -> Row;
        serialize_unit_struct(&'static str) -> Row;
        serialize_unit_variant(&'static str, u32, &'static str) -> Row;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Row, CsvError> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Row, CsvError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Row, CsvError> {
        Err(CsvError("a record must be a struct, not an enum".into()))
    }
}

impl ser::SerializeStruct for RowSerializer {
    type Ok = Row;
    type Error = CsvError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CsvError> {
        match value.serialize(CellSerializer)? {
            Cell::One(cell) => {
                self.row.columns.push(key.to_owned());
                self.row.cells.push(cell);
            }
            Cell::Many(cells) => {
                let names: Vec<String> = if cells.len() == 2 {
                    vec![format!("{key}_low"), format!("{key}_high")]
                } else {
                    (0..cells.len()).map(|i| format!("{key}_{i}")).collect()
                };
                self.row.columns.extend(names);
                self.row.cells.extend(cells);
            }
            Cell::Skip => {}
        }
        Ok(())
    }

    fn end(self) -> Result<Row, CsvError> {
        Ok(self.row)
    }
}

/// Serializes a field's value into a [`Cell`].
struct CellSerializer;

macro_rules! display_cell {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, v: $ty) -> Result<Cell, CsvError> {
            Ok(Cell::One(quote(&v.to_string())))
        })*
    };
}

impl ser::Serializer for CellSerializer {
    type Ok = Cell;
    type Error = CsvError;
    type SerializeSeq = Skipped;
    type SerializeTuple = TupleCells;
    type SerializeTupleStruct = TupleCells;
    type SerializeTupleVariant = Impossible<Cell, CsvError>;
    type SerializeMap = Skipped;
    type SerializeStruct = Skipped;
    type SerializeStructVariant = Impossible<Cell, CsvError>;

    display_cell! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<Cell, CsvError> {
        Ok(Cell::Skip)
    }

    fn serialize_none(self) -> Result<Cell, CsvError> {
        Ok(Cell::One(String::new()))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Cell, CsvError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Cell, CsvError> {
        Ok(Cell::One(String::new()))
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, CsvError> {
        Ok(Cell::One(String::new()))
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Cell, CsvError> {
        Ok(Cell::One(quote(variant)))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Cell, CsvError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Cell, CsvError> {
        Ok(Cell::Skip)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Skipped, CsvError> {
        Ok(Skipped)
    }

    fn serialize_tuple(self, len: usize) -> Result<TupleCells, CsvError> {
        Ok(TupleCells(Vec::with_capacity(len)))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<TupleCells, CsvError> {
        Ok(TupleCells(Vec::with_capacity(len)))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CsvError> {
        Err(CsvError("a field must not be an enum with data".into()))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Skipped, CsvError> {
        Ok(Skipped)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Skipped, CsvError> {
        Ok(Skipped)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CsvError> {
        Err(CsvError("a field must not be an enum with data".into()))
    }
}

/// The cells of a tuple (an array such as a 99% interval), one per element.
struct TupleCells(Vec<String>);

impl TupleCells {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CsvError> {
        match value.serialize(CellSerializer)? {
            Cell::One(cell) => self.0.push(cell),
            Cell::Many(cells) => self.0.extend(cells),
            Cell::Skip => {}
        }
        Ok(())
    }
}

impl ser::SerializeTuple for TupleCells {
    type Ok = Cell;
    type Error = CsvError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CsvError> {
        self.push(value)
    }

    fn end(self) -> Result<Cell, CsvError> {
        Ok(Cell::Many(self.0))
    }
}

impl ser::SerializeTupleStruct for TupleCells {
    type Ok = Cell;
    type Error = CsvError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CsvError> {
        self.push(value)
    }

    fn end(self) -> Result<Cell, CsvError> {
        Ok(Cell::Many(self.0))
    }
}

/// A list, map or nested record: left out of the CSV.
struct Skipped;

impl ser::SerializeSeq for Skipped {
    type Ok = Cell;
    type Error = CsvError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), CsvError> {
        Ok(())
    }

    fn end(self) -> Result<Cell, CsvError> {
        Ok(Cell::Skip)
    }
}

impl ser::SerializeMap for Skipped {
    type Ok = Cell;
    type Error = CsvError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), CsvError> {
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), CsvError> {
        Ok(())
    }

    fn end(self) -> Result<Cell, CsvError> {
        Ok(Cell::Skip)
    }
}

impl ser::SerializeStruct for Skipped {
    type Ok = Cell;
    type Error = CsvError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), CsvError> {
        Ok(())
    }

    fn end(self) -> Result<Cell, CsvError> {
        Ok(Cell::Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Record {
        mechanism: &'static str,
        eps: f64,
        n: u64,
        ci99: [f64; 2],
        note: Option<String>,
        values: Vec<u32>,
    }

    #[test]
    fn fields_in_order_pairs_split_lists_left_out() {
        let records = [
            Record {
                mechanism: "grr",
                eps: 1.0,
                n: 20_000,
                ci99: [f64::NEG_INFINITY, 0.25],
                note: None,
                values: vec![1, 2],
            },
            Record {
                mechanism: "oue",
                eps: 0.5,
                n: 3,
                ci99: [0.5, 1.5],
                note: Some("a, \"b\"".into()),
                values: Vec::new(),
            },
        ];
        assert_eq!(
            to_csv(&records).unwrap(),
            "mechanism,eps,n,ci99_low,ci99_high,note\n\
             grr,1,20000,-inf,0.25,\n\
             oue,0.5,3,0.5,1.5,\"a, \"\"b\"\"\"\n"
        );
        assert_eq!(to_csv::<Record>(&[]).unwrap(), "");
        assert!(to_csv(&[1u32]).is_err());
    }
}
