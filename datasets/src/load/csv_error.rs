//! CSV read errors in the user's terms: polars reports a bad field with a byte offset
//! (of the chunk it was parsing, not of the field) and advice for Python users; this
//! finds the 1-based data row (header excluded) and the column instead.

use std::path::Path;

use polars::prelude::*;

use super::LoadError;

/// The error for a failed polars read of the CSV file `path`: a field that does not
/// parse or a row with too many fields, located by row and column when possible.
pub(super) fn explain(path: &Path, source: PolarsError) -> LoadError {
    let message = source.to_string();
    let located = match parse_failure(&message) {
        Some((value, dtype, column)) => bad_field(path, column, value, dtype),
        None if message.contains("more fields than defined") => too_many_fields(path),
        None => None,
    };
    located.unwrap_or(LoadError::Read {
        file: path.to_path_buf(),
        source,
    })
}

/// The first paragraph of a polars error, without the advice (for Python users) and
/// the chunk offset that follow it.
pub fn polars_message(error: &PolarsError) -> String {
    let text = error.to_string();
    text.split("\n\n")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `(value, dtype, column)` from polars' "could not parse `abc` as dtype `f64` at
/// column 'close' (column number 5)".
fn parse_failure(message: &str) -> Option<(&str, &str, &str)> {
    let rest = message.split_once("could not parse `")?.1;
    let (value, rest) = rest.split_once("` as dtype `")?;
    let (dtype, rest) = rest.split_once("` at column '")?;
    let (column, _) = rest.split_once("' (column number")?;
    Some((value, dtype, column))
}

/// The first data row whose `column` does not parse as polars' `dtype`, reading every
/// column as text.
fn bad_field(path: &Path, column: &str, value: &str, dtype: &str) -> Option<LoadError> {
    let frame = LazyCsvReader::new(PlRefPath::try_from_path(path).ok()?)
        .with_has_header(true)
        .with_glob(false)
        .with_infer_schema_length(Some(0))
        .finish()
        .ok()?
        .select([col(column)])
        .collect()
        .ok()?;
    let texts = frame.column(column).ok()?.str().ok()?.clone();
    let parses = |text: &str| match dtype {
        "f64" | "f32" => text.trim().parse::<f64>().is_ok(),
        "i64" | "i32" => text.trim().parse::<i64>().is_ok(),
        _ => text != value,
    };
    let index = texts
        .iter()
        .position(|text| text.is_some_and(|text| !parses(text)))?;
    Some(LoadError::CsvField {
        file: path.to_path_buf(),
        row: index as u64 + 1,
        column: column.to_string(),
        value: texts.get(index).unwrap_or(value).to_string(),
        expected: expected_words(dtype),
    })
}

/// What a polars dtype means to the user.
fn expected_words(dtype: &str) -> String {
    match dtype {
        "f64" | "f32" => "a number such as 101.5".to_string(),
        "i64" | "i32" => "an integer, like the rows before it".to_string(),
        other => format!("a value of type {other}, like the rows before it"),
    }
}

/// The first data row with more comma-separated fields (outside quotes) than the header.
fn too_many_fields(path: &Path) -> Option<LoadError> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header = count_fields(lines.next()?);
    let (index, found) = lines
        .map(count_fields)
        .enumerate()
        .find(|&(_, found)| found > header)?;
    Some(LoadError::CsvFieldCount {
        file: path.to_path_buf(),
        row: index as u64 + 1,
        found,
        header,
    })
}

/// Comma-separated fields of one line; commas inside double quotes do not count.
fn count_fields(line: &str) -> usize {
    let mut quoted = false;
    let mut fields = 1;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields += 1,
            _ => {}
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_failure_is_taken_apart() {
        let message = "could not parse `abc` as dtype `f64` at column 'close' (column number 5)\n\nThe current offset in the file is 4372 bytes.";
        assert_eq!(parse_failure(message), Some(("abc", "f64", "close")));
        assert_eq!(parse_failure("something else"), None);
    }

    #[test]
    fn fields_inside_quotes_do_not_count() {
        assert_eq!(count_fields("a,b,c"), 3);
        assert_eq!(count_fields("a,\"b,c\",d"), 3);
    }
}
