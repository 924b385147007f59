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
            table: Some(DeTable::parse_recoverable(text).0),
        }
    }

    /// A problem at byte `offset`, its key found from the document structure.
    /// The whole recipe text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

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

    /// The dotted key whose key or value contains `offset`; failing that (a
    /// syntax error after a value), the nearest key before it.
    fn key_at(&self, offset: usize) -> String {
        let Some(table) = &self.table else {
            return String::new();
        };
        let mut keys = Vec::new();
        collect_table(table.get_ref(), "", &mut keys);
        let containing = keys
            .iter()
            .filter(|k| k.start <= offset && offset < k.end)
            .max_by_key(|k| (k.start, k.path.len()));
        let before = || {
            keys.iter()
                .filter(|k| k.start <= offset)
                .max_by_key(|k| (k.start, k.path.len()))
        };
        containing
            .or_else(before)
            .map(|k| k.path.clone())
            .unwrap_or_default()
    }
}

/// A key with the byte range from its name to the end of its value.
struct KeySpan {
    start: usize,
    end: usize,
    path: String,
}

fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<KeySpan>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        out.push(KeySpan {
            start: key.span().start,
            end: key.span().end.max(value.span().end),
            path: path.clone(),
        });
        collect_value(value.get_ref(), &path, out);
    }
}

fn collect_value(value: &DeValue<'_>, path: &str, out: &mut Vec<KeySpan>) {
    match value {
        DeValue::Table(t) => collect_table(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let DeValue::Table(t) = item.get_ref() {
                    let start = t.iter().map(|(k, _)| k.span().start).min();
                    let end = t.iter().map(|(k, v)| k.span().end.max(v.span().end)).max();
                    if let (Some(start), Some(end)) = (start, end) {
                        // `[[rules]]` headers sit just before their first key.
                        let header = item.span().start.min(start);
                        out.push(KeySpan {
                            start: header,
                            end,
                            path: p.clone(),
                        });
                    }
                } else {
                    out.push(KeySpan {
                        start: item.span().start,
                        end: item.span().end,
                        path: p.clone(),
                    });
                }
                collect_value(item.get_ref(), &p, out);
            }
        }
        _ => {}
    }
}
