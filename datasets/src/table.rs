//! A small typed column table for exports that are not candles (feature matrices
//! with labels), written and read back with polars so Python tools read the same
//! bytes (`polars.read_parquet`, `pandas.read_parquet`).

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::load::guard::guarded;
use crate::load::types::check_parquet_footer;
use crate::load::LoadError;
use crate::write::{write_frame, WriteError};
use crate::FileFormat;

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    Str(Vec<String>),
    /// Text with missing values (written as nulls).
    OptStr(Vec<Option<String>>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Str(v) => v.len(),
            ColumnValues::OptStr(v) => v.len(),
            ColumnValues::I64(v) => v.len(),
            ColumnValues::F32(v) => v.len(),
            ColumnValues::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_column(&self, name: &str) -> Column {
        let name = PlSmallStr::from_str(name);
        match self {
            ColumnValues::Str(v) => Column::new(name, v),
            ColumnValues::OptStr(v) => Column::new(name, v),
            ColumnValues::I64(v) => Column::new(name, v),
            ColumnValues::F32(v) => Column::new(name, v),
            ColumnValues::F64(v) => Column::new(name, v),
        }
    }
}

/// Named columns of equal length, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    columns: Vec<(String, ColumnValues)>,
}

/// A table that cannot be built, written or read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("column {name:?} has {len} values but the table has {height} rows")]
    Length {
        name: String,
        len: usize,
        height: usize,
    },
    #[error("column {0:?} appears twice")]
    DuplicateColumn(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The file could not be read: missing, damaged, or with a column type polars
    /// cannot represent.
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: PolarsError },
    #[error("{path}: column {column:?} has type {found}, which a table cannot hold (expected text, i64, f32 or f64)")]
    UnsupportedType {
        path: PathBuf,
        column: String,
        found: String,
    },
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column; it must have as many values as the columns before it.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        values: ColumnValues,
    ) -> Result<(), TableError> {
        let name = name.into();
        if let Some((_, first)) = self.columns.first() {
            if first.len() != values.len() {
                return Err(TableError::Length {
                    name,
                    len: values.len(),
                    height: first.len(),
                });
            }
        }
        if self.columns.iter().any(|(n, _)| *n == name) {
            return Err(TableError::DuplicateColumn(name));
        }
        self.columns.push((name, values));
        Ok(())
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    pub fn columns(&self) -> &[(String, ColumnValues)] {
        &self.columns
    }

    /// The column called `name`, if present.
    pub fn column(&self, name: &str) -> Option<&ColumnValues> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Writes the table to `path` atomically (temp file + rename).
    pub fn write(&self, path: &Path, format: FileFormat) -> Result<(), TableError> {
        let columns = self.columns.iter().map(|(n, v)| v.to_column(n)).collect();
        let frame =
            DataFrame::new(self.height(), columns).map_err(|source| WriteError::Encode {
                path: path.to_path_buf(),
                format,
                source,
            })?;
        Ok(write_frame(path, frame, format)?)
    }

    /// Reads a Parquet table written by [`Table::write`] (or by any tool producing
    /// text, i64, f32 and f64 columns).
    pub fn read_parquet(path: &Path) -> Result<Table, TableError> {
        let read_err = |source| TableError::Read {
            path: path.to_path_buf(),
            source,
        };
        // A damaged file is an error naming it: never a panic inside polars, nor a read
        // past the end of its memory map.
        let frame = guarded(path, || {
            check_parquet_footer(path)?;
            let file = File::open(path).map_err(|source| LoadError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            ParquetReader::new(file)
                .finish()
                .map_err(|source| LoadError::Read {
                    file: path.to_path_buf(),
                    source,
                })
        })?;
        let mut table = Table::new();
        for column in frame.columns() {
            let name = column.name().to_string();
            let values = match column.dtype() {
                DataType::String => {
                    let ca = column.str().map_err(read_err)?;
                    if ca.null_count() == 0 {
                        ColumnValues::Str(ca.iter().flatten().map(str::to_string).collect())
                    } else {
                        ColumnValues::OptStr(ca.iter().map(|v| v.map(str::to_string)).collect())
                    }
                }
                DataType::Int64 => ColumnValues::I64(numeric(column.i64(), path, &name)?),
                DataType::Float32 => ColumnValues::F32(numeric(column.f32(), path, &name)?),
                DataType::Float64 => ColumnValues::F64(numeric(column.f64(), path, &name)?),
                other => {
                    return Err(TableError::UnsupportedType {
                        path: path.to_path_buf(),
                        column: name,
                        found: other.to_string(),
                    })
                }
            };
            table.push(name, values)?;
        }
        Ok(table)
    }
}

fn numeric<T>(
    ca: PolarsResult<&ChunkedArray<T>>,
    path: &Path,
    name: &str,
) -> Result<Vec<T::Native>, TableError>
where
    T: PolarsNumericType,
{
    let ca = ca.map_err(|source| TableError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if ca.null_count() > 0 {
        return Err(TableError::UnsupportedType {
            path: path.to_path_buf(),
            column: name.to_string(),
            found: format!("{} with {} nulls", ca.dtype(), ca.null_count()),
        });
    }
    Ok(ca.into_no_null_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_keeps_types_values_and_nulls() {
        let mut t = Table::new();
        t.push("symbol", ColumnValues::Str(vec!["A".into(), "B".into()]))
            .unwrap();
        t.push("ts", ColumnValues::I64(vec![0, 60_000])).unwrap();
        t.push("x", ColumnValues::F32(vec![0.1, f32::MAX])).unwrap();
        t.push("y", ColumnValues::F64(vec![1e-300, -2.5])).unwrap();
        t.push("label", ColumnValues::OptStr(vec![Some("up".into()), None]))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        t.write(&path, FileFormat::Parquet).unwrap();
        assert_eq!(Table::read_parquet(&path).unwrap(), t);
    }

    #[test]
    fn a_footer_pointing_past_the_end_of_the_file_is_an_error_not_an_abort() {
        let mut t = Table::new();
        t.push("x", ColumnValues::F64((0..200).map(f64::from).collect()))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        t.write(&path, FileFormat::Parquet).unwrap();
        let valid = std::fs::read(&path).unwrap();
        let len = valid.len() as u64;
        // The first footer byte whose damage makes a row group claim bytes past the end.
        let damaged = (0..valid.len() - 8)
            .rev()
            .map(|i| {
                let mut bytes = valid.clone();
                bytes[i] = 0x7f;
                bytes
            })
            .find(|bytes| {
                // Some damage makes polars panic while decoding the footer: skip it.
                std::panic::catch_unwind(|| {
                    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
                    reader.get_metadata().is_ok_and(|m| {
                        m.row_groups
                            .iter()
                            .any(|g| g.byte_ranges_iter().any(|r| r.end > len))
                    })
                })
                .unwrap_or(false)
            })
            .expect("a byte to damage");
        std::fs::write(&path, damaged).unwrap();
        let err = Table::read_parquet(&path).unwrap_err().to_string();
        assert!(
            err.contains("t.parquet: damaged Parquet file (row group 0 claims bytes"),
            "{err}"
        );
    }

    #[test]
    fn rejects_columns_of_another_length_and_duplicates() {
        let mut t = Table::new();
        t.push("a", ColumnValues::I64(vec![1, 2])).unwrap();
        let err = t.push("b", ColumnValues::F64(vec![1.0])).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"b\" has 1 values but the table has 2 rows"),
            "{err}"
        );
        let err = t.push("a", ColumnValues::I64(vec![3, 4])).unwrap_err();
        assert!(err.to_string().contains("\"a\" appears twice"), "{err}");
    }
}
