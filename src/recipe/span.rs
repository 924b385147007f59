//! Byte offsets to `line:column` and to the dotted key that encloses them.

use toml::de::{DeTable, DeValue};

use super::Problem;

/// The recipe text, kept to locate problems.
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    table: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            table: DeTable::parse(text).ok(),
        }
    }

    /// A problem at byte `offset`, its key found from the document structure.
    pub(crate) fn problem(&self, offset: usize, message: String) -> Problem {
        let key = self.key_at(offset);
        self.problem_with_key(offset, key, message)
    }

    /// A problem at byte `offset` under a key the caller names.
    pub(crate) fn problem_with_key(&self, offset: usize, key: String, message: String) -> Problem {
        let (line, column) = self.line_col(offset);
        Problem {
            line,
            column,
            key: if key.is_empty() {
                "(top level)".into()
            } else {
                key
            },
            message,
        }
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// The dotted key whose key or value contains `offset`.
    fn key_at(&self, offset: usize) -> String {
        let mut path = String::new();
        if let Some(table) = &self.table {
            walk_table(table.get_ref(), offset, &mut path);
        }
        path
    }
}

fn walk_table(table: &DeTable<'_>, offset: usize, path: &mut String) -> bool {
    for (key, value) in table {
        let in_key = key.span().contains(&offset);
        if in_key || value.span().contains(&offset) || contains_deep(value.get_ref(), offset) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            if !in_key {
                walk_value(value.get_ref(), offset, path);
            }
            return true;
        }
    }
    false
}

fn walk_value(value: &DeValue<'_>, offset: usize, path: &mut String) {
    match value {
        DeValue::Table(t) => {
            walk_table(t, offset, path);
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.span().contains(&offset) || contains_deep(item.get_ref(), offset) {
                    path.push_str(&format!("[{i}]"));
                    walk_value(item.get_ref(), offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Tables from `[header]` sections have no contiguous span; look inside them.
fn contains_deep(value: &DeValue<'_>, offset: usize) -> bool {
    match value {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            k.span().contains(&offset)
                || v.span().contains(&offset)
                || contains_deep(v.get_ref(), offset)
        }),
        DeValue::Array(items) => items
            .iter()
            .any(|v| v.span().contains(&offset) || contains_deep(v.get_ref(), offset)),
        _ => false,
    }
}
