//! Column types a Parquet file may carry that polars, as built here, cannot represent.
//!
//! polars builds without its decimal, int128, float16, struct and fixed-size-list
//! features panics while converting such a column's Arrow type to its own schema, and
//! it cannot create a column from uint8/uint16 data. Both are refused before polars
//! reads the file, naming the file, the column, the type found and what to do instead.
//! So is a footer that places a column chunk outside the file, naming the row group.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::LoadError;

/// What a refused Parquet column should be instead.
const CAST_HINT: &str = "a type gauntlet can read; cast the column to float64 (prices, volume) or int64 (epoch timestamps), or drop it";

/// Refuses a Parquet file whose footer places a column chunk outside the file (a
/// damaged or truncated file: polars would slice its memory map out of bounds, which
/// aborts the process instead of returning an error), and one with any column whose
/// Arrow type polars cannot represent (polars would panic building the schema, even for
/// columns gauntlet does not use).
pub(crate) fn check_parquet_footer(path: &Path) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let read_err = |source| LoadError::Read {
        file: path.to_path_buf(),
        source,
    };
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata().map_err(read_err)?;
    for (group, row_group) in metadata.row_groups.iter().enumerate() {
        let mut ranges =
            std::iter::once(row_group.full_byte_range()).chain(row_group.byte_ranges_iter());
        if let Some(range) = ranges.find(|r| r.start > r.end || r.end > file_len) {
            return Err(LoadError::DamagedParquet {
                file: path.to_path_buf(),
                detail: format!(
                    "row group {group} claims bytes {}..{} of a {file_len}-byte file",
                    range.start, range.end
                ),
            });
        }
    }
    let schema = reader.schema().map_err(read_err)?;
    let unreadable = schema
        .iter()
        .find(|(_, field)| !representable(&field.dtype))
        .map(|(name, field)| LoadError::WrongType {
            file: path.to_path_buf(),
            column: name.to_string(),
            found: arrow_type_name(&field.dtype),
            expected: CAST_HINT.to_string(),
        });
    unreadable.map_or(Ok(()), Err)
}

/// The refusal of a uint8/uint16 column, which polars reads into a schema but cannot
/// build a column from.
pub(super) fn small_unsigned(path: &Path, column: &str, dtype: &DataType) -> Option<LoadError> {
    matches!(dtype, DataType::UInt8 | DataType::UInt16).then(|| LoadError::WrongType {
        file: path.to_path_buf(),
        column: column.to_string(),
        found: if *dtype == DataType::UInt8 {
            "uint8"
        } else {
            "uint16"
        }
        .to_string(),
        expected: CAST_HINT.to_string(),
    })
}

/// Whether polars (with the features enabled here) can turn `dtype` into its own type.
fn representable(dtype: &ArrowDataType) -> bool {
    match dtype {
        ArrowDataType::Null
        | ArrowDataType::Boolean
        | ArrowDataType::Int8
        | ArrowDataType::Int16
        | ArrowDataType::Int32
        | ArrowDataType::Int64
        | ArrowDataType::UInt8
        | ArrowDataType::UInt16
        | ArrowDataType::UInt32
        | ArrowDataType::UInt64
        | ArrowDataType::Float32
        | ArrowDataType::Float64
        | ArrowDataType::Utf8
        | ArrowDataType::LargeUtf8
        | ArrowDataType::Utf8View
        | ArrowDataType::Binary
        | ArrowDataType::LargeBinary
        | ArrowDataType::BinaryView
        | ArrowDataType::FixedSizeBinary(_)
        | ArrowDataType::Date32
        | ArrowDataType::Date64
        | ArrowDataType::Time32(_)
        | ArrowDataType::Time64(_)
        | ArrowDataType::Duration(_)
        | ArrowDataType::Timestamp(_, _) => true,
        ArrowDataType::List(inner) | ArrowDataType::LargeList(inner) => representable(&inner.dtype),
        ArrowDataType::Dictionary(_, values, _) => representable(values),
        _ => false,
    }
}

/// The Arrow type as users of pyarrow/polars spell it, e.g. `decimal128(18,2)`.
fn arrow_type_name(dtype: &ArrowDataType) -> String {
    match dtype {
        ArrowDataType::Decimal(precision, scale) => format!("decimal128({precision},{scale})"),
        ArrowDataType::Decimal32(precision, scale) => format!("decimal32({precision},{scale})"),
        ArrowDataType::Decimal64(precision, scale) => format!("decimal64({precision},{scale})"),
        ArrowDataType::Decimal256(precision, scale) => {
            format!("decimal256({precision},{scale})")
        }
        ArrowDataType::List(inner) | ArrowDataType::LargeList(inner) => {
            format!("list of {}", arrow_type_name(&inner.dtype))
        }
        ArrowDataType::Dictionary(_, values, _) => {
            format!("dictionary of {}", arrow_type_name(values))
        }
        ArrowDataType::Struct(_) => "struct".to_string(),
        ArrowDataType::Extension(extension) => format!("extension type {}", extension.name),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_like_pyarrow() {
        assert_eq!(
            arrow_type_name(&ArrowDataType::Decimal(18, 2)),
            "decimal128(18,2)"
        );
        assert_eq!(arrow_type_name(&ArrowDataType::Float16), "float16");
        assert_eq!(arrow_type_name(&ArrowDataType::Int128), "int128");
    }

    #[test]
    fn only_types_polars_can_hold_are_representable() {
        assert!(representable(&ArrowDataType::UInt64));
        assert!(representable(&ArrowDataType::Timestamp(
            ArrowTimeUnit::Millisecond,
            Some("UTC".into())
        )));
        assert!(!representable(&ArrowDataType::Decimal(18, 2)));
        assert!(!representable(&ArrowDataType::Float16));
    }
}
