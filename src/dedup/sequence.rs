//! Frame sequences: folders of numbered frames (one clip or camera each), sampled
//! by time and stripped of consecutive near duplicates before the global pass.
//!
//! Which images form sequences is declared by `sequences.match` patterns (a
//! `{sequence}` capture names the sequence, else each matching folder is one)
//! or, without them, found by evidence: a folder holding at least
//! [`MIN_FRAMES`] images whose file names end in a number (`000123.jpg`,
//! `frame_42.png`), nine in ten of one size (the odd ones are not frames), a
//! quarter or more of them alike their neighbours in number order. Dataset photos (`000000391895.jpg`,
//! `2008_000123.jpg`) fail the size or likeness test, and images an annotation
//! source lists are stills unless declared. Video frames always form one sequence per video. The summary names
//! every sequence and why it is one, and every numbered folder that is not.
//! A frame's time is its label's `time` (manifest column, video timestamp), else
//! its frame index divided by the frame rate (a matching rule's `fps`, else
//! `sequences.fps`); the index is the file name's number, or in a declared
//! sequence whose names are not all numbered, the position in name order. With
//! `every`, the first frame of each `every`-second window is kept. A frame the
//! exact-copy pass removed keeps its place (its number or position, and it
//! counts towards [`MIN_FRAMES`]) but is not a candidate: the window takes its
//! next frame. Then, walking
//! the kept frames in time order, a frame at least as similar as the dedup
//! threshold to the last frame kept is a consecutive duplicate and is dropped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Removal, Signature, Threshold, similarity};
use crate::pattern::PathPattern;
use crate::pool::PoolImage;

/// Without `sequences.match`, a folder needs this many numbered frames to count
/// as a sequence.
pub(crate) const MIN_FRAMES: usize = 3;

/// `[sequences]` settings.
#[derive(Debug, Clone, Default)]
pub struct SequencePlan {
    /// `every`: keep one frame per this many seconds. Default: keep all.
    pub every: Option<f64>,
    /// `fps`: frame rate of numbered frames without a `time`. Default: none.
    pub fps: Option<f64>,
    /// `consecutive`: drop consecutive near duplicates. Default true.
    pub consecutive: bool,
    /// `match`: patterns whose images are sequence frames. `None` (the default):
    /// the numbered-folder heuristic; `Some(empty)`: no sequences but videos.
    pub declared: Option<Vec<PathPattern>>,
}

/// What sampling did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SequenceSummary {
    /// Sequences found.
    pub sequences: usize,
    /// Frames in them.
    pub frames: usize,
    /// Frames dropped by time sampling.
    pub not_sampled: usize,
    /// Frames dropped as consecutive near duplicates.
    pub consecutive_duplicates: usize,
    /// Sequences with no timing (no `time`, no `fps`), so not sampled by time.
    pub untimed: Vec<String>,
    /// Sequences not sampled by time at all (no `every`, or no timing), which
    /// only the consecutive-duplicate rule thins.
    pub unsampled_sequences: usize,
    /// Frames in them.
    pub unsampled_frames: usize,
    /// Every sequence, in key order, and why it is one.
    pub found: Vec<Found>,
    /// Folders of numbered images the heuristic did not take for frames.
    pub stills: Vec<Stills>,
}

/// A sequence and the evidence that made it one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// Its key: the folder (relative, `/`-separated) or the `{sequence}` prefix.
    pub key: String,
    /// Frames in it.
    pub frames: usize,
    /// Why it is a sequence.
    pub basis: Basis,
}

/// Why images form a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Basis {
    /// Frames extracted from one video.
    Video,
    /// A `sequences.match` pattern.
    Declared,
    /// Numbered frames of one size, many alike their neighbours.
    Numbered {
        /// Frame width in pixels.
        width: u32,
        /// Frame height in pixels.
        height: u32,
        /// Percent of neighbouring pairs (in number order) that look alike.
        alike_percent: u32,
    },
}

/// A folder of numbered images that are not frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stills {
    /// The folder (relative, `/`-separated).
    pub folder: String,
    /// Numbered images in it.
    pub images: usize,
    /// Why they are not frames.
    pub reason: NotFrames,
}

/// Why a folder of numbered images is not a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotFrames {
    /// An annotation source lists them: dataset photos.
    Annotated,
    /// They are not all one size.
    Sizes,
    /// Few of them look like their neighbours in number order.
    Unalike,
}

impl NotFrames {
    /// A short explanation for reports.
    pub fn describe(self) -> &'static str {
        match self {
            NotFrames::Annotated => "listed by the annotations",
            NotFrames::Sizes => "sizes differ",
            NotFrames::Unalike => "neighbours do not look alike",
        }
    }
}

/// How images enter a sequence group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    Video,
    Declared,
    Heuristic,
}

/// Trailing number of a file stem: `000123` → 123, `frame_42` → 42.
pub(crate) fn frame_number(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 18 {
        return None;
    }
    stem[stem.len() - digits..].parse().ok()
}

/// Samples every sequence in `images` (path order) among the images `removed`
/// (indexed like `images`: the exact-copy pass) still keeps; returns `removed`
/// with sampling's removals added, and a summary. Images not in a sequence are
/// untouched.
///
/// Five passes, each sequence in key order going through all of them before
/// the next: [`group`] the candidates, [`confirm`] them as sequences,
/// [`timeline`] their frames, [`sample_by_time`], then
/// [`drop_consecutive`] duplicates. Frames the exact pass removed keep their
/// place (positions, the frame count) but are never kept again.
pub(crate) fn sample(
    images: &[PoolImage],
    plan: &SequencePlan,
    threshold: Threshold,
    mut removed: Vec<Option<Removal>>,
) -> (Vec<Option<Removal>>, SequenceSummary) {
    let mut summary = SequenceSummary::default();
    for (key, (grouping, members)) in group(images, plan) {
        let Some((basis, members)) = confirm(images, key, grouping, members, &mut summary) else {
            continue;
        };
        let declared = grouping == Grouping::Declared;
        let Some(frames) = timeline(images, plan, declared, &members) else {
            continue;
        };
        summary.sequences += 1;
        summary.frames += frames.len();
        let video = matches!(basis, Basis::Video);
        summary.found.push(Found {
            key: key.to_owned(),
            frames: frames.len(),
            basis,
        });
        let has_time = frames.iter().all(|(_, t)| t.is_some());
        // A video's frames were already taken one per `every` (1 s by default).
        if !video && (plan.every.is_none() || !has_time) {
            summary.unsampled_sequences += 1;
            summary.unsampled_frames += frames.len();
        }
        if let Some(every) = plan.every {
            if has_time {
                summary.not_sampled += sample_by_time(&frames, every, &mut removed);
            } else {
                summary.untimed.push(key.to_owned());
            }
        }
        if plan.consecutive {
            summary.consecutive_duplicates +=
                drop_consecutive(images, &frames, threshold, &mut removed);
        }
    }
    (removed, summary)
}

/// Pass 1: the candidate sequences, by key (see [`sequence_of`]): how each
/// got its images and their indices into `images`, in path order.
fn group<'a>(
    images: &'a [PoolImage],
    plan: &SequencePlan,
) -> BTreeMap<&'a str, (Grouping, Vec<usize>)> {
    let mut groups: BTreeMap<&str, (Grouping, Vec<usize>)> = BTreeMap::new();
    for (i, img) in images.iter().enumerate() {
        if let Some((key, grouping)) = sequence_of(img, plan) {
            groups
                .entry(key)
                .or_insert((grouping, Vec::new()))
                .1
                .push(i);
        }
    }
    groups
}

/// Pass 2: whether the candidate `key` is a sequence, and on what basis.
/// Videos and declared groups are; a heuristic group keeps only its numbered
/// images and needs [`MIN_FRAMES`] of them and [`frame_evidence`], else it is
/// `None` (with fewer it is ignored; failing the evidence, its folder is noted
/// among the summary's stills). Returns the basis and the members kept.
fn confirm(
    images: &[PoolImage],
    key: &str,
    grouping: Grouping,
    mut members: Vec<usize>,
    summary: &mut SequenceSummary,
) -> Option<(Basis, Vec<usize>)> {
    let basis = match grouping {
        Grouping::Video => Basis::Video,
        Grouping::Declared => Basis::Declared,
        Grouping::Heuristic => {
            members.retain(|&i| frame_number(&images[i].file.path).is_some());
            if members.len() < MIN_FRAMES {
                return None;
            }
            let numbered = members.len();
            match frame_evidence(images, &mut members) {
                Ok(basis) => basis,
                Err(reason) => {
                    summary.stills.push(Stills {
                        folder: key.to_owned(),
                        images: numbered,
                        reason,
                    });
                    return None;
                }
            }
        }
    };
    Some((basis, members))
}

/// Pass 3: a sequence's frames with their times, in time order (untimed
/// frames as at 0, ties by index). A frame's index is its file name's number,
/// or in a `declared` sequence whose names are not all numbered, its position;
/// its time is its label's `time`, else index / fps (its rule's, else the
/// plan's). Frames with neither number nor `time` are left out; `None` when
/// none are left, or fewer than [`MIN_FRAMES`] in an undeclared sequence.
fn timeline(
    images: &[PoolImage],
    plan: &SequencePlan,
    declared: bool,
    members: &[usize],
) -> Option<Vec<(usize, Option<f64>)>> {
    let by_position = declared
        && !members
            .iter()
            .all(|&i| frame_number(&images[i].file.path).is_some());
    let mut frames: Vec<(usize, Option<f64>)> = members
        .iter()
        .enumerate()
        .filter_map(|(position, &i)| {
            let img = &images[i];
            let number = if by_position {
                Some(position as u64)
            } else {
                frame_number(&img.file.path)
            };
            let fps = img.labels.fps.or(plan.fps);
            let time = img.labels.time.or_else(|| Some(number? as f64 / fps?));
            (number.is_some() || img.labels.time.is_some()).then_some((i, time))
        })
        .collect();
    if frames.is_empty() || (!declared && frames.len() < MIN_FRAMES) {
        return None;
    }
    frames.sort_by(|a, b| {
        let key = |(i, t): &(usize, Option<f64>)| (t.unwrap_or(0.0), *i);
        key(a).0.total_cmp(&key(b).0).then(a.0.cmp(&b.0))
    });
    Some(frames)
}

/// Pass 4: of the still-kept `frames` (time order, all timed), keeps the
/// first in each `every`-second window and marks the rest
/// [`Removal::NotSampled`] in `removed`; returns how many it marked.
fn sample_by_time(
    frames: &[(usize, Option<f64>)],
    every: f64,
    removed: &mut [Option<Removal>],
) -> usize {
    let mut not_sampled = 0;
    let mut last_window = None;
    for &(i, t) in frames {
        let window = (t.unwrap_or(0.0) / every).floor() as i64;
        if removed[i].is_some() {
            continue;
        }
        if last_window == Some(window) {
            removed[i] = Some(Removal::NotSampled);
            not_sampled += 1;
        } else {
            last_window = Some(window);
        }
    }
    not_sampled
}

/// Pass 5: walking the still-kept `frames` in time order, marks in `removed`
/// each one that `threshold` accepts as a duplicate of the last frame kept,
/// with the same bucket and tags, as [`Removal::Consecutive`]; returns how
/// many it marked.
fn drop_consecutive(
    images: &[PoolImage],
    frames: &[(usize, Option<f64>)],
    threshold: Threshold,
    removed: &mut [Option<Removal>],
) -> usize {
    let mut dropped = 0;
    let mut last: Option<(usize, &Signature)> = None;
    for &(i, _) in frames {
        if removed[i].is_some() {
            continue;
        }
        let img = &images[i];
        let sig = &img.features.signature;
        if let Some((k, prev)) = &last {
            let same_scope = images[*k].labels.bucket == img.labels.bucket
                && images[*k].labels.tags == img.labels.tags;
            let distance = images[*k].features.phash.distance(img.features.phash);
            let dup = threshold.accepts(similarity(prev, sig), distance);
            if same_scope && dup {
                removed[i] = Some(Removal::Consecutive { kept: *k });
                dropped += 1;
                continue;
            }
        }
        last = Some((i, sig));
    }
    dropped
}

/// The sequence `img` may belong to, as a `/`-separated key, and how it got
/// there; `None` when it is in none. Heuristic groups still need evidence.
fn sequence_of<'a>(img: &'a PoolImage, plan: &SequencePlan) -> Option<(&'a str, Grouping)> {
    let rel = img.file.rel.as_str();
    let folder = rel.rsplit_once('/').map_or("", |(folder, _)| folder);
    match &plan.declared {
        _ if img.file.frame_of.is_some() => Some((folder, Grouping::Video)),
        None => Some((folder, Grouping::Heuristic)),
        Some(patterns) => patterns.iter().find(|p| p.is_match(rel)).map(|p| {
            let key = p.prefix_through(rel, "sequence").unwrap_or(folder);
            (key, Grouping::Declared)
        }),
    }
}

/// Neighbouring frames at least this similar count as alike (unrelated photos
/// score 0.35–0.65, frames of one camera mostly above 0.9).
const ALIKE: f32 = 0.9;

/// The share of neighbouring pairs that must be alike for numbered images to
/// be taken for frames.
const ALIKE_SHARE: f64 = 0.25;

/// The share of numbered images in a folder that must have one size to be
/// taken for frames (a resized copy or two may sit among them).
const SAME_SIZE_SHARE: f64 = 0.9;

/// Whether numbered images (`members`, at least [`MIN_FRAMES`]) look like the
/// frames of one clip: none listed by annotations, [`SAME_SIZE_SHARE`] of them
/// of one size (`members` keeps only those), and at least [`ALIKE_SHARE`] of
/// the pairs that are neighbours in number order [`ALIKE`]. Dataset photos
/// differ in size, or in content from their neighbours even when resized and
/// renumbered.
fn frame_evidence(images: &[PoolImage], members: &mut Vec<usize>) -> Result<Basis, NotFrames> {
    if members.iter().any(|&i| images[i].labels.still) {
        return Err(NotFrames::Annotated);
    }
    let size = |i: usize| (images[i].features.width, images[i].features.height);
    let mut sizes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for &i in members.iter() {
        *sizes.entry(size(i)).or_default() += 1;
    }
    // The most common size; ties go to the smallest.
    let ((width, height), count) =
        sizes.into_iter().fold(
            ((0, 0), 0),
            |best, (s, n)| if n > best.1 { (s, n) } else { best },
        );
    if (count as f64) < SAME_SIZE_SHARE * members.len() as f64 {
        return Err(NotFrames::Sizes);
    }
    members.retain(|&i| size(i) == (width, height));
    let mut ordered = members.clone();
    ordered.sort_by_key(|&i| (frame_number(&images[i].file.path), i));
    let signatures: Vec<&Signature> = ordered
        .iter()
        .map(|&i| &images[i].features.signature)
        .collect();
    let pairs = signatures.len() - 1;
    let alike = signatures
        .windows(2)
        .filter(|w| similarity(w[0], w[1]) >= ALIKE)
        .count();
    let share = alike as f64 / pairs as f64;
    if share < ALIKE_SHARE {
        return Err(NotFrames::Unalike);
    }
    Ok(Basis::Numbered {
        width,
        height,
        alike_percent: (share * 100.0).round() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::{Bucket, Origin};
    use crate::pool::fake::{blob, image};

    #[test]
    fn frame_numbers() {
        assert_eq!(frame_number(Path::new("a/000123.jpg")), Some(123));
        assert_eq!(frame_number(Path::new("frame_42.png")), Some(42));
        assert_eq!(frame_number(Path::new("IMG_0001.JPG")), Some(1));
        assert_eq!(frame_number(Path::new("still.jpg")), None);
    }

    /// 30 frames at 10 fps: a still scene for frames 0-14, then a moving blob.
    fn clip() -> Vec<PoolImage> {
        (0..30)
            .map(|k| {
                let x = if k < 15 {
                    8.0
                } else {
                    8.0 + 1.5 * (k - 14) as f32
                };
                image(
                    &format!("cam/seq/{k:06}.jpg"),
                    Bucket::Normal,
                    &[],
                    Some("cam"),
                    blob(x, 12.0, 1.0),
                )
            })
            .collect()
    }

    #[test]
    fn samples_one_frame_per_interval_at_the_given_fps() {
        let images = clip();
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: None,
        };
        let (removed, s) = run(&images, &plan);
        let kept: Vec<usize> = (0..30).filter(|&i| removed[i].is_none()).collect();
        assert_eq!(kept, [0, 10, 20]);
        assert_eq!((s.sequences, s.frames, s.not_sampled), (1, 30, 27));
        // 0.5 s at 10 fps: every fifth frame.
        let plan = SequencePlan {
            every: Some(0.5),
            ..plan
        };
        let (removed, _) = run(&images, &plan);
        assert_eq!(removed.iter().filter(|r| r.is_none()).count(), 6);
    }

    #[test]
    fn a_rule_fps_overrides_the_default() {
        let mut images = clip();
        for i in &mut images {
            i.labels.fps = Some(5.0);
        }
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: None,
        };
        let (removed, _) = run(&images, &plan);
        let kept: Vec<usize> = (0..30).filter(|&i| removed[i].is_none()).collect();
        assert_eq!(kept, [0, 5, 10, 15, 20, 25]);
    }

    #[test]
    fn drops_consecutive_duplicates_but_keeps_motion() {
        let images = clip();
        let plan = SequencePlan {
            every: None,
            fps: None,
            consecutive: true,
            declared: None,
        };
        let (removed, s) = run(&images, &plan);
        // The 15 still frames collapse to the first; moving frames survive.
        assert!(removed[0].is_none());
        assert!((1..15).all(|i| removed[i] == Some(Removal::Consecutive { kept: 0 })));
        assert!(s.consecutive_duplicates >= 14);
        assert!(removed[29].is_none());
    }

    #[test]
    fn untimed_sequences_are_reported_not_sampled() {
        let images = clip();
        let plan = SequencePlan {
            every: Some(1.0),
            fps: None,
            consecutive: false,
            declared: None,
        };
        let (removed, s) = run(&images, &plan);
        assert!(removed.iter().all(Option::is_none));
        assert_eq!(s.untimed.len(), 1);
    }

    /// Samples `images` with nothing removed before.
    fn run(images: &[PoolImage], plan: &SequencePlan) -> (Vec<Option<Removal>>, SequenceSummary) {
        sample(
            images,
            plan,
            Threshold::Similarity(0.98),
            vec![None; images.len()],
        )
    }

    fn declared(patterns: &[&str]) -> Option<Vec<PathPattern>> {
        Some(
            patterns
                .iter()
                .map(|p| PathPattern::new(p).unwrap())
                .collect(),
        )
    }

    /// `clip()` with file names that carry no number, in frame order.
    fn unnumbered_clip(folder: &str) -> Vec<PoolImage> {
        clip()
            .into_iter()
            .enumerate()
            .map(|(k, mut img)| {
                let name = format!("{folder}/shot-{}.jpg", (b'a' + k as u8) as char);
                img.file.path = Path::new("/pool").join(&name);
                img.file.rel = name;
                img
            })
            .collect()
    }

    #[test]
    fn a_declared_sequence_of_unnumbered_files_is_timed_by_position() {
        let images = unnumbered_clip("cam/seq");
        let mut plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: None,
        };
        // The heuristic does not see unnumbered names as frames.
        let (removed, s) = run(&images, &plan);
        assert!(removed.iter().all(Option::is_none));
        assert_eq!(s.sequences, 0);
        plan.declared = declared(&["cam/**"]);
        let (removed, s) = run(&images, &plan);
        let kept: Vec<usize> = (0..30).filter(|&i| removed[i].is_none()).collect();
        assert_eq!(kept, [0, 10, 20]);
        assert_eq!((s.sequences, s.frames, s.not_sampled), (1, 30, 27));
    }

    #[test]
    fn a_sequence_capture_joins_folders_and_declaring_turns_the_heuristic_off() {
        // One clip split over two folders (frames 0-14 and 15-29), plus a folder of
        // numbered frames the patterns do not declare.
        let mut images: Vec<PoolImage> = clip()
            .into_iter()
            .enumerate()
            .map(|(k, mut img)| {
                let name = format!("clips/c1/part{}/{k:06}.jpg", k / 15);
                img.file.path = Path::new("/pool").join(&name);
                img.file.rel = name;
                img
            })
            .collect();
        images.extend(clip());
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: declared(&["clips/{sequence}/**"]),
        };
        let (removed, s) = run(&images, &plan);
        assert_eq!((s.sequences, s.frames), (1, 30));
        let kept: Vec<usize> = (0..30).filter(|&i| removed[i].is_none()).collect();
        assert_eq!(kept, [0, 10, 20]);
        assert!(removed[30..].iter().all(Option::is_none));
        // Without the capture, each folder is its own sequence.
        let plan = SequencePlan {
            declared: declared(&["clips/**"]),
            ..plan
        };
        let (_, s) = run(&images, &plan);
        assert_eq!((s.sequences, s.frames), (2, 30));
        // An empty list declares none.
        let plan = SequencePlan {
            declared: Some(Vec::new()),
            ..plan
        };
        let (removed, s) = run(&images, &plan);
        assert_eq!(s.sequences, 0);
        assert!(removed.iter().all(Option::is_none));
    }

    #[test]
    fn frames_removed_as_exact_copies_keep_their_place() {
        let images = unnumbered_clip("cam/seq");
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: declared(&["cam/**"]),
        };
        // Frame 3 and frame 10 are copies of files kept elsewhere.
        let mut pre = vec![None; images.len()];
        pre[3] = Some(Removal::Exact { kept: 0 });
        pre[10] = Some(Removal::Exact { kept: 0 });
        let (removed, s) = sample(&images, &plan, Threshold::Similarity(0.98), pre);
        let kept: Vec<usize> = (0..30).filter(|&i| removed[i].is_none()).collect();
        // Positions do not shift; frame 10's window takes frame 11 instead.
        assert_eq!(kept, [0, 11, 20]);
        assert_eq!(removed[10], Some(Removal::Exact { kept: 0 }));
        assert_eq!((s.frames, s.not_sampled), (30, 25));
        // Three numbered frames stay a sequence with one of them removed.
        let three: Vec<PoolImage> = clip().into_iter().take(3).collect();
        let mut pre = vec![None; 3];
        pre[0] = Some(Removal::Exact { kept: 1 });
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: None,
        };
        let (removed, s) = sample(&three, &plan, Threshold::Similarity(0.98), pre);
        assert_eq!(s.sequences, 1);
        assert_eq!(removed[1], None, "the copy kept opens the window");
        assert_eq!(removed[2], Some(Removal::NotSampled));
    }

    #[test]
    fn evidence_separates_frames_from_numbered_photos() {
        let plan = SequencePlan {
            every: Some(1.0),
            fps: Some(10.0),
            consecutive: false,
            declared: None,
        };
        // Sizes differ: photos. One odd size in a clip is left out of it.
        let mut images = clip();
        images[4].features.width = 80;
        let (removed, s) = run(&images, &plan);
        assert_eq!((s.sequences, s.frames), (1, 29));
        assert!(removed[4].is_none());
        for img in &mut images[5..8] {
            img.features.width = 80;
        }
        let (removed, s) = run(&images, &plan);
        assert!(removed.iter().all(Option::is_none));
        assert_eq!(s.stills[0].reason, NotFrames::Sizes);
        assert_eq!(s.stills[0].images, 30);
        // One size, numbered in a row, but unrelated pictures: photos.
        let mut images = clip();
        for (k, img) in images.iter_mut().enumerate() {
            let k = k as f32;
            img.features.signature =
                Signature::new(&blob(4.0 + (k * 7.3) % 24.0, 4.0 + (k * 3.1) % 24.0, 1.0));
        }
        let (_, s) = run(&images, &plan);
        assert_eq!(s.stills[0].reason, NotFrames::Unalike);
        // Listed by annotations: photos, unless declared.
        let mut images = clip();
        images[0].labels.still = true;
        let (_, s) = run(&images, &plan);
        assert_eq!((s.sequences, s.stills[0].reason), (0, NotFrames::Annotated));
        let declared = SequencePlan {
            declared: declared(&["cam/**"]),
            ..plan.clone()
        };
        let (_, s) = run(&images, &declared);
        assert_eq!(s.found[0].basis, Basis::Declared);
        // One size at step 3 with a frame missing: a clip (the still frames alike).
        let images: Vec<PoolImage> = clip()
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k != 7)
            .map(|(k, mut img)| {
                let name = format!("cam/seq/{:06}.jpg", k * 3);
                img.file.path = Path::new("/pool").join(&name);
                img.file.rel = name;
                img
            })
            .collect();
        let (_, s) = run(&images, &plan);
        assert_eq!(
            s.found[0].basis,
            Basis::Numbered {
                width: 64,
                height: 48,
                alike_percent: 100
            }
        );
        assert_eq!(s.frames, 29);
    }

    #[test]
    fn a_better_labelled_copy_inside_a_sequence_does_not_loop() {
        // Frames 0-3 of one folder; frame 2 is a byte copy of frame 1 and is the one
        // the manifest lists. Exact first, then sampling over the survivors, then the
        // near pass must finish with frame 1 an exact copy of frame 2.
        let mut images: Vec<PoolImage> = (0..4)
            .map(|k| {
                let mut img = image(
                    &format!("seq/{k:06}.jpg"),
                    Bucket::Normal,
                    &[],
                    Some("cam"),
                    blob(6.0 + 6.0 * k as f32, 12.0, 1.0),
                );
                img.labels.origin = Origin::Rule(0);
                img
            })
            .collect();
        images[2] = images[1].clone();
        images[2].file.path = "/pool/seq/000002.jpg".into();
        images[2].file.rel = "seq/000002.jpg".into();
        images[2].labels.origin = Origin::Manifest;
        let exact = crate::dedup::exact_copies(&images, true);
        assert_eq!(exact[1], Some(Removal::Exact { kept: 2 }));
        let plan = SequencePlan {
            consecutive: true,
            ..Default::default()
        };
        let (removed, _) = sample(&images, &plan, Threshold::Similarity(0.98), exact);
        let d = crate::dedup::dedup_after(
            &images,
            &crate::dedup::DedupSettings::default(),
            removed,
            &crate::cancel::NEVER,
        )
        .unwrap();
        assert_eq!(d.removed[1], Some(Removal::Exact { kept: 2 }));
        assert_eq!(d.cluster[1], d.cluster[2]);
    }
}
