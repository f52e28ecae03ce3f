//! Validation errors shared by every config struct: all field errors are collected
//! and reported together, not only the first.

use std::fmt;

/// One invalid field: its dotted path, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every invalid field of a config, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config ({} error(s))", self.errors.len())?;
        for e in &self.errors {
            write!(f, "; {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// `Ok(())` when `errors` is empty, otherwise all of them as one error.
    pub fn check(errors: Vec<FieldError>) -> Result<(), ConfigError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { errors })
        }
    }

    /// Prefixes every field path with `prefix.` (to nest a sub-config's errors).
    pub fn nested(self, prefix: &str) -> Vec<FieldError> {
        self.errors
            .into_iter()
            .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.message))
            .collect()
    }
}
