//! Path patterns: globs matched against an image's path relative to the recipe
//! directory (always with `/` separators), with optional named captures.
//!
//! A capture is written `{name}`: a whole path segment (`frames/{camera}/**`)
//! or part of one between literal text (`cams/{camera}.mp4`, `cam_{camera}`).
//! It matches one segment (or the part of it between the text) and records it
//! under `name`. Captures may follow a `**` (`**/frames/{camera}/**`): where `**`
//! could take more or fewer segments, the leftmost match counts (the first
//! `frames` folder). A brace group with a comma (`{jpg,png}`) keeps its usual
//! glob meaning (alternation).

use globset::{Glob, GlobBuilder, GlobMatcher};

/// A compiled pattern with its captures.
#[derive(Debug, Clone)]
pub struct PathPattern {
    source: String,
    matcher: GlobMatcher,
    /// The pattern's segments, to place captures; empty without captures.
    segments: Vec<Segment>,
}

/// One `/`-separated piece of a pattern with captures.
#[derive(Debug, Clone)]
enum Segment {
    /// `**`: any number of segments, none included.
    Recursive,
    /// `prefix{name}suffix`: one segment, its middle recorded.
    Capture(Capture),
    /// Anything else: one segment matching this glob.
    Glob(GlobMatcher),
}

/// A capture in a segment: `{name}`, with literal text around it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Capture {
    name: String,
    prefix: String,
    suffix: String,
}

impl Capture {
    /// The captured part of `segment`, when it has the text around it.
    fn take<'a>(&self, segment: &'a str) -> Option<&'a str> {
        let inner = segment
            .strip_prefix(&self.prefix)?
            .strip_suffix(&self.suffix)?;
        (!inner.is_empty()).then_some(inner)
    }
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The glob itself is malformed.
    #[error("invalid glob: {0}")]
    Glob(String),
    /// A capture name is used twice.
    #[error("capture `{{{0}}}` appears twice")]
    DuplicateCapture(String),
    /// The text around a capture in a segment has wildcards, or the segment
    /// holds two captures.
    #[error(
        "capture `{{{0}}}` shares its segment with a wildcard or another capture; only literal text may surround it"
    )]
    CaptureBesideWildcard(String),
    /// A `{a,b/c}` alternation spans a `/` in a pattern with captures, whose
    /// segments could then not be counted.
    #[error("an alternation with `/` inside cannot be combined with captures")]
    SlashInAlternation,
}

/// Compiles one pattern (or segment) the way every pattern is compiled.
fn glob(pattern: &str) -> Result<GlobMatcher, PatternError> {
    let glob: Glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| PatternError::Glob(e.kind().to_string()))?;
    Ok(glob.compile_matcher())
}

impl PathPattern {
    /// Compiles `pattern`. `*` and `?` never cross a `/`; `**` spans segments.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let mut names: Vec<String> = Vec::new();
        let mut glob_segments = Vec::new();
        let mut parsed = Vec::new();
        for segment in pattern.split('/') {
            let capture = capture_in(segment)?;
            if let Some(c) = &capture {
                if names.contains(&c.name) {
                    return Err(PatternError::DuplicateCapture(c.name.clone()));
                }
                names.push(c.name.clone());
                glob_segments.push(format!("{}*{}", c.prefix, c.suffix));
            } else {
                glob_segments.push(segment.to_owned());
            }
            parsed.push((segment, capture));
        }
        if !names.is_empty() && slash_in_braces(pattern) {
            return Err(PatternError::SlashInAlternation);
        }
        let matcher = glob(&glob_segments.join("/"))?;
        let segments = if names.is_empty() {
            Vec::new()
        } else {
            parsed
                .into_iter()
                .map(|(segment, capture)| match capture {
                    Some(c) => Ok(Segment::Capture(c)),
                    None if segment == "**" => Ok(Segment::Recursive),
                    None => glob(segment).map(Segment::Glob),
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self {
            source: pattern.to_owned(),
            matcher,
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Names of the captures, in order of appearance.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture(c) => Some(c.name.as_str()),
            _ => None,
        })
    }

    /// Whether `rel` (a `/`-separated relative path) matches (with every
    /// capture non-empty).
    pub fn is_match(&self, rel: &str) -> bool {
        if self.segments.is_empty() {
            self.matcher.is_match(rel)
        } else {
            self.place(rel).is_some()
        }
    }

    /// Matches `rel` and returns the captured segments, or `None` when it does not match.
    pub fn captures<'a>(&self, rel: &'a str) -> Option<Vec<(&str, &'a str)>> {
        let placed = self.place(rel)?;
        let segments: Vec<&str> = rel.split('/').collect();
        Some(
            placed
                .into_iter()
                .filter_map(|(c, i)| Some((c.name.as_str(), c.take(segments[i])?)))
                .collect(),
        )
    }

    /// The part of `rel` up to and including the segment captured as `name`
    /// (`frames/cam01` for `frames/{camera}/**` and `frames/cam01/0001.jpg`), or
    /// `None` when `rel` does not match or the pattern has no such capture.
    pub fn prefix_through<'a>(&self, rel: &'a str, name: &str) -> Option<&'a str> {
        let (_, index) = self.place(rel)?.into_iter().find(|(c, _)| c.name == name)?;
        let end = rel
            .match_indices('/')
            .nth(index)
            .map_or(rel.len(), |(at, _)| at);
        Some(&rel[..end])
    }

    /// Each capture's name and the index of the segment of `rel` it takes, in
    /// the leftmost match; `None` when `rel` does not match.
    fn place(&self, rel: &str) -> Option<Vec<(&Capture, usize)>> {
        if !self.matcher.is_match(rel) {
            return None;
        }
        if self.segments.is_empty() {
            return Some(Vec::new());
        }
        let path: Vec<&str> = rel.split('/').collect();
        let mut failed = vec![false; (self.segments.len() + 1) * (path.len() + 1)];
        let mut taken = Vec::new();
        // The glob matched; the segments still need a non-empty capture each.
        place_from(&self.segments, 0, &path, 0, &mut failed, &mut taken).then_some(taken)
    }
}

/// Matches `segments[s..]` against `path[p..]`, leftmost first, pushing each
/// capture's `(name, path index)` onto `taken`; `failed` memoises dead ends.
fn place_from<'s>(
    segments: &'s [Segment],
    s: usize,
    path: &[&str],
    p: usize,
    failed: &mut [bool],
    taken: &mut Vec<(&'s Capture, usize)>,
) -> bool {
    let key = s * (path.len() + 1) + p;
    if failed[key] {
        return false;
    }
    let ok = match segments.get(s) {
        None => p == path.len(),
        Some(Segment::Recursive) => {
            (p..=path.len()).any(|q| place_from(segments, s + 1, path, q, failed, taken))
        }
        Some(segment) if p < path.len() => {
            let here = match segment {
                Segment::Capture(c) => {
                    taken.push((c, p));
                    c.take(path[p]).is_some()
                }
                Segment::Glob(g) => g.is_match(path[p]),
                Segment::Recursive => unreachable!("handled above"),
            };
            let rest = here && place_from(segments, s + 1, path, p + 1, failed, taken);
            if !rest && matches!(segment, Segment::Capture(_)) {
                taken.pop();
            }
            rest
        }
        Some(_) => false,
    };
    if !ok {
        failed[key] = true;
    }
    ok
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

/// The capture in `segment`: `{name}` with an identifier inside (letters,
/// digits, `_`, `-`), alone or between literal text. A `{a,b}` group is an
/// alternation, not a capture.
fn capture_in(segment: &str) -> Result<Option<Capture>, PatternError> {
    let is_ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let mut found = None;
    let mut rest = segment;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        if is_ident(inner) {
            if found.is_some() {
                return Err(PatternError::CaptureBesideWildcard(inner.to_owned()));
            }
            found = Some((offset + open, offset + open + close + 1, inner));
        }
        offset += open + close + 1;
        rest = &segment[offset..];
    }
    let Some((start, end, name)) = found else {
        return Ok(None);
    };
    let (prefix, suffix) = (&segment[..start], &segment[end..]);
    let wild = |s: &str| s.contains(['*', '?', '[', ']', '{', '}', '\\']);
    if wild(prefix) || wild(suffix) {
        return Err(PatternError::CaptureBesideWildcard(name.to_owned()));
    }
    Ok(Some(Capture {
        name: name.to_owned(),
        prefix: prefix.to_owned(),
        suffix: suffix.to_owned(),
    }))
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
    fn captures_after_a_recursive_segment_take_the_leftmost_match() {
        let p = PathPattern::new("**/frames/{camera}/**").unwrap();
        assert_eq!(
            p.captures("data/frames/camA/night/1.jpg"),
            Some(vec![("camera", "camA")])
        );
        assert_eq!(
            p.captures("frames/c1/x/frames/c2/1.jpg"),
            Some(vec![("camera", "c1")])
        );
        assert_eq!(p.captures("data/stills/1.jpg"), None);
        assert_eq!(
            p.prefix_through("a/b/frames/c9/1.jpg", "camera"),
            Some("a/b/frames/c9")
        );
        // A capture file name after `**`: `cams/**/{clip}` takes the last segment.
        let p = PathPattern::new("cams/**/{clip}").unwrap();
        assert_eq!(p.captures("cams/a/b/x.mp4"), Some(vec![("clip", "x.mp4")]));
        let p = PathPattern::new("**/{camera}/*.jpg").unwrap();
        assert_eq!(p.captures("a/b/c/1.jpg"), Some(vec![("camera", "c")]));
    }

    #[test]
    fn captures_part_of_a_segment_between_literal_text() {
        let p = PathPattern::new("cams/{camera}.mp4").unwrap();
        assert_eq!(
            p.captures("cams/site3_front_left.mp4"),
            Some(vec![("camera", "site3_front_left")])
        );
        assert_eq!(p.captures("cams/.mp4"), None, "a capture is never empty");
        assert!(!p.is_match("cams/a.mkv"));
        let p = PathPattern::new("**/cam_{camera}/{clip}_v2/*").unwrap();
        assert_eq!(
            p.captures("x/cam_07/drive_v2/1.jpg"),
            Some(vec![("camera", "07"), ("clip", "drive")])
        );
        assert_eq!(
            p.prefix_through("x/cam_07/drive_v2/1.jpg", "camera"),
            Some("x/cam_07")
        );
        assert_eq!(
            PathPattern::new("cams/*{camera}.mp4").unwrap_err(),
            PatternError::CaptureBesideWildcard("camera".into())
        );
        assert_eq!(
            PathPattern::new("{camera}_{clip}/*").unwrap_err(),
            PatternError::CaptureBesideWildcard("clip".into())
        );
        // An alternation beside literal text stays one.
        let p = PathPattern::new("cams/x.{mp4,mkv}").unwrap();
        assert!(p.is_match("cams/x.mkv"));
        assert_eq!(p.capture_names().count(), 0);
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
