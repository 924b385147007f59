use super::*;
use crate::bucket::{Bucket, Origin};
use crate::pool::fake::{blob, image};

fn settings(threshold: Threshold) -> DedupSettings {
    DedupSettings {
        threshold,
        ..DedupSettings::default()
    }
}

/// A burst of 4 frames with the blob drifting 0.3 px per frame, a distant scene,
/// and the same burst's first frame filed as a night frame.
fn pool() -> Vec<PoolImage> {
    let mut v: Vec<PoolImage> = (0..4)
        .map(|k| {
            image(
                &format!("cam1/day/{k:03}.jpg"),
                Bucket::Normal,
                &["day"],
                Some("cam1"),
                blob(10.0 + 0.3 * k as f32, 12.0, 1.0),
            )
        })
        .collect();
    v.push(image(
        "cam1/day/100.jpg",
        Bucket::Normal,
        &["day"],
        Some("cam1"),
        blob(24.0, 24.0, 1.0),
    ));
    v.push(image(
        "cam1/night/000.jpg",
        Bucket::Hard,
        &["night"],
        Some("cam1"),
        blob(10.0, 12.0, 0.4),
    ));
    v
}

fn kept(d: &Dedup) -> Vec<usize> {
    (0..d.removed.len()).filter(|&i| d.is_kept(i)).collect()
}

#[test]
fn thresholds_decide_what_merges() {
    let images = pool();
    // (threshold, images kept)
    let table = [
        (Threshold::Similarity(0.98), 3), // burst → 1, distant scene, night twin
        (Threshold::Similarity(0.9999), 6), // nothing is that alike
        (Threshold::Similarity(0.05), 2), // everything in scope merges; night stays apart
        (Threshold::MaxDistance(64), 2),
    ];
    for (threshold, want) in table {
        let d = dedup(&images, &settings(threshold));
        assert_eq!(kept(&d).len(), want, "{threshold:?}: kept {:?}", kept(&d));
        assert!(d.is_kept(5), "night twin is out of scope at {threshold:?}");
    }
    // At 0 bits only identical hashes merge.
    let mut hashes: Vec<u64> = images[..5].iter().map(|i| i.features.phash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let d = dedup(&images, &settings(Threshold::MaxDistance(0)));
    assert_eq!(kept(&d).len(), hashes.len() + 1);
}

#[test]
fn scope_global_merges_across_buckets() {
    let mut s = settings(Threshold::Similarity(0.98));
    s.scope = Scope::Global;
    let d = dedup(&pool(), &s);
    assert_eq!(kept(&d).len(), 2);
    assert_eq!(d.near_removed(), 4);
}

#[test]
fn keeps_the_most_central_frame_of_a_burst() {
    let d = dedup(&pool(), &settings(Threshold::Similarity(0.98)));
    // Frames 1 and 2 sit in the middle of the drift: one of them is kept.
    let burst_kept: Vec<usize> = kept(&d).into_iter().filter(|&i| i < 4).collect();
    assert_eq!(burst_kept.len(), 1);
    assert!(matches!(burst_kept[0], 1 | 2), "kept {burst_kept:?}");
    for i in 0..4 {
        assert_eq!(d.cluster[i], burst_kept[0]);
    }
    assert_eq!(d.groups()[0], (burst_kept[0], vec![0, 1, 2, 3]));
}

#[test]
fn exact_copies_keep_the_original_name() {
    let mut images = pool();
    let mut copy = images[4].clone();
    copy.file.path = "/pool/cam1/day/100 (1).jpg".into();
    copy.file.rel = "cam1/day/100 (1).jpg".into();
    images.insert(4, copy); // sorts before the original by path
    let mut rule_copy = images[6].clone();
    rule_copy.labels.origin = Origin::Rule(0);
    rule_copy.file.path = "/pool/a.jpg".into();
    images.insert(0, rule_copy);
    let d = dedup(&images, &settings(Threshold::Similarity(0.98)));
    assert_eq!(d.exact_removed(), 2);
    assert_eq!(
        d.removed[5],
        Some(Removal::Exact { kept: 6 }),
        "copy name loses"
    );
    assert_eq!(
        d.removed[0],
        Some(Removal::Exact { kept: 7 }),
        "manifest row wins"
    );
}

#[test]
fn looks_like_a_copy_recognises_common_names() {
    let named = |n: &str| {
        let mut i = pool().remove(0);
        i.file.path = format!("/p/{n}").into();
        looks_like_a_copy(&i)
    };
    for n in [
        "a (1).jpg",
        "a (12).png",
        "a - Copy.jpg",
        "a-copy.jpg",
        "a_copy.JPG",
    ] {
        assert!(named(n), "{n}");
    }
    for n in ["a.jpg", "copyright.jpg", "a (x).jpg", "a ().jpg"] {
        assert!(!named(n), "{n}");
    }
}
