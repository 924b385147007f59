//! Path patterns: globs matched against an image's path relative to the recipe
//! directory (always with `/` separators), with optional named captures.
//!
//! A capture is a whole path segment written `{name}`, e.g. `frames/{camera}/**`.
//! It matches one segment and records it under `name`. Captures must come before
//! any `**` segment, so the captured segment's position is fixed. A brace group
//! with a comma (`{jpg,png}`) keeps its usual glob meaning (alternation).

use globset::{Glob, GlobBuilder, GlobMatcher};

/// A compiled pattern with its captures.
#[derive(Debug, Clone)]
pub struct PathPattern {
    source: String,
    matcher: GlobMatcher,
    /// `(segment index, capture name)` for each `{name}` segment.
    captures: Vec<(usize, String)>,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The glob itself is malformed.
    #[error("invalid glob: {0}")]
    Glob(String),
    /// A capture appears after a `**` segment.
    #[error("capture `{{{0}}}` must come before any `**` segment")]
    CaptureAfterRecursive(String),
    /// A capture name is used twice.
    #[error("capture `{{{0}}}` appears twice")]
    DuplicateCapture(String),
    /// A `{a,b/c}` alternation spans a `/` in a pattern with captures, whose
    /// segments could then not be counted.
    #[error("an alternation with `/` inside cannot be combined with captures")]
    SlashInAlternation,
}

impl PathPattern {
    /// Compiles `pattern`. `*` and `?` never cross a `/`; `**` spans segments.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let mut captures: Vec<(usize, String)> = Vec::new();
        let mut seen_recursive = false;
        let mut glob_segments = Vec::new();
        for (index, segment) in pattern.split('/').enumerate() {
            if let Some(name) = capture_name(segment) {
                if seen_recursive {
                    return Err(PatternError::CaptureAfterRecursive(name.to_owned()));
                }
                if captures.iter().any(|(_, n)| n == name) {
                    return Err(PatternError::DuplicateCapture(name.to_owned()));
                }
                captures.push((index, name.to_owned()));
                glob_segments.push("*");
            } else {
                seen_recursive |= segment.contains("**");
                glob_segments.push(segment);
            }
        }
        if !captures.is_empty() && slash_in_braces(pattern) {
            return Err(PatternError::SlashInAlternation);
        }
        let glob: Glob = GlobBuilder::new(&glob_segments.join("/"))
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| PatternError::Glob(e.kind().to_string()))?;
        Ok(Self {
            source: pattern.to_owned(),
            matcher: glob.compile_matcher(),
            captures,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Names of the captures, in order of appearance.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.captures.iter().map(|(_, n)| n.as_str())
    }

    /// Whether `rel` (a `/`-separated relative path) matches.
    pub fn is_match(&self, rel: &str) -> bool {
        self.matcher.is_match(rel)
    }

    /// Matches `rel` and returns the captured segments, or `None` when it does not match.
    pub fn captures<'a>(&self, rel: &'a str) -> Option<Vec<(&str, &'a str)>> {
        if !self.matcher.is_match(rel) {
            return None;
        }
        let segments: Vec<&str> = rel.split('/').collect();
        Some(
            self.captures
                .iter()
                .filter_map(|(i, name)| segments.get(*i).map(|s| (name.as_str(), *s)))
                .collect(),
        )
    }

    /// The part of `rel` up to and including the segment captured as `name`
    /// (`frames/cam01` for `frames/{camera}/**` and `frames/cam01/0001.jpg`), or
    /// `None` when `rel` does not match or the pattern has no such capture.
    pub fn prefix_through<'a>(&self, rel: &'a str, name: &str) -> Option<&'a str> {
        let (index, _) = self.captures.iter().find(|(_, n)| n == name)?;
        if !self.matcher.is_match(rel) {
            return None;
        }
        let end = rel
            .match_indices('/')
            .nth(*index)
            .map_or(rel.len(), |(at, _)| at);
        Some(&rel[..end])
    }
}

/// Whether a `/` occurs inside `{…}` (an alternation), skipping `\` escapes
/// and `[…]` classes.
fn slash_in_braces(pattern: &str) -> bool {
    let mut depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                // Skip the class; a `]` first (after an optional `!`) is a member.
                let mut members = 0;
                for c in chars.by_ref() {
                    if c == ']' && members > 0 {
                        break;
                    }
                    if !(members == 0 && c == '!') {
                        members += 1;
                    }
                }
            }
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' if depth > 0 => return true,
            _ => {}
        }
    }
    false
}

/// `{name}` with an identifier inside (letters, digits, `_`, `-`) is a capture.
fn capture_name(segment: &str) -> Option<&str> {
    let inner = segment.strip_prefix('{')?.strip_suffix('}')?;
    let ident = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ident.then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_fixed_segments() {
        let p = PathPattern::new("frames/{camera}/{condition}/**").unwrap();
        assert_eq!(
            p.captures("frames/cam01/night/000001.jpg"),
            Some(vec![("camera", "cam01"), ("condition", "night")])
        );
        assert_eq!(p.captures("stills/positive/a.jpg"), None);
        assert_eq!(
            p.capture_names().collect::<Vec<_>>(),
            ["camera", "condition"]
        );
    }

    #[test]
    fn prefix_through_a_capture() {
        let p = PathPattern::new("frames/{camera}/{clip}/**").unwrap();
        let rel = "frames/cam01/clip7/sub/000001.jpg";
        assert_eq!(p.prefix_through(rel, "camera"), Some("frames/cam01"));
        assert_eq!(p.prefix_through(rel, "clip"), Some("frames/cam01/clip7"));
        assert_eq!(p.prefix_through(rel, "sequence"), None);
        assert_eq!(p.prefix_through("stills/a.jpg", "camera"), None);
        let p = PathPattern::new("{sequence}").unwrap();
        assert_eq!(p.prefix_through("a.jpg", "sequence"), Some("a.jpg"));
    }

    #[test]
    fn star_does_not_cross_separator() {
        let p = PathPattern::new("frames/*/day/*").unwrap();
        assert!(p.is_match("frames/cam01/day/1.jpg"));
        assert!(!p.is_match("frames/cam01/x/day/1.jpg"));
        let p = PathPattern::new("**/night/**").unwrap();
        assert!(p.is_match("frames/cam01/night/1.jpg"));
        assert!(p.is_match("night/1.jpg"));
        assert!(!p.is_match("frames/cam01/nightly/1.jpg"));
    }

    #[test]
    fn alternation_is_not_a_capture() {
        let p = PathPattern::new("frames/*/{night,rain-fog}/**").unwrap();
        assert!(p.is_match("frames/c/rain-fog/1.jpg"));
        assert!(!p.is_match("frames/c/day/1.jpg"));
        assert_eq!(p.capture_names().count(), 0);
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            PathPattern::new("**/{camera}/x").unwrap_err(),
            PatternError::CaptureAfterRecursive("camera".into())
        );
        assert_eq!(
            PathPattern::new("{a}/{a}/**").unwrap_err(),
            PatternError::DuplicateCapture("a".into())
        );
        assert!(matches!(
            PathPattern::new("frames/[a").unwrap_err(),
            PatternError::Glob(_)
        ));
        assert_eq!(
            PathPattern::new("{clips,more/clips}/{sequence}/**").unwrap_err(),
            PatternError::SlashInAlternation
        );
        // A `{` inside a class is not an alternation.
        assert!(PathPattern::new("pool/[{]x/{sequence}/**").is_ok());
        assert!(PathPattern::new("[]{]/{a,b/c}/{sequence}/**").is_err());
        // Without captures nothing is counted, so the alternation may span `/`.
        assert!(
            PathPattern::new("{clips,more/clips}/**")
                .unwrap()
                .is_match("more/clips/a.jpg")
        );
    }
}
