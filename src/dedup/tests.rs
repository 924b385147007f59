use super::*;
use crate::label::{Bucket, Origin};
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
    let mut hashes: Vec<u64> = images[..5].iter().map(|i| i.features.phash.0).collect();
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
fn a_copy_of_a_sampled_out_frame_goes_with_it() {
    // A byte copy of burst frame 1, filed by a rule as an untagged still. The
    // exact pass runs first and keeps the manifest-labelled frame; when sampling
    // then drops frame 1 as a consecutive duplicate, the copy is already gone.
    let mut images = pool();
    let mut copy = images[1].clone();
    copy.labels.origin = Origin::Rule(0);
    copy.labels.tags.clear();
    copy.file.path = "/pool/stills/x.jpg".into();
    copy.file.rel = "stills/x.jpg".into();
    images.push(copy);
    let mut removed = exact_copies(&images, true);
    assert_eq!(removed[6], Some(Removal::Exact { kept: 1 }));
    assert!(exact_copies(&images, false).iter().all(Option::is_none));
    removed[1] = Some(Removal::Consecutive { kept: 0 });
    let d = dedup_after(
        &images,
        &settings(Threshold::Similarity(0.98)),
        removed,
        &crate::cancel::NEVER,
    )
    .unwrap();
    assert_eq!(d.removed[6], Some(Removal::Exact { kept: 1 }));
    assert_eq!(d.cluster[6], d.cluster[0]);
    assert_eq!(d.exact_removed(), 1);
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

#[test]
fn star_keeps_the_ends_of_a_drifting_chain_and_chain_does_not() {
    // Three frames drifting 3 px each: neighbours alike, ends less so.
    let images: Vec<PoolImage> = (0..3)
        .map(|k| {
            image(
                &format!("cam/{k}.jpg"),
                Bucket::Normal,
                &[],
                None,
                blob(8.0 + 3.0 * k as f32, 14.0, 1.0),
            )
        })
        .collect();
    let sig: Vec<&Signature> = images.iter().map(|i| &i.features.signature).collect();
    let (near, far) = (similarity(sig[0], sig[1]), similarity(sig[0], sig[2]));
    assert!(near > far + 0.002, "{near} {far}");
    let t = (near + far) / 2.0;
    let mut s = settings(Threshold::Similarity(t));
    s.grouping = Grouping::Chain;
    let chain = dedup(&images, &s);
    assert_eq!(kept(&chain).len(), 1);
    s.grouping = Grouping::Star;
    let star = dedup(&images, &s);
    // The middle frame is most central: it is kept and absorbs both ends.
    assert_eq!(kept(&star), [1]);
    // With the middle frame's links gone (scope splits it off), the ends survive.
    let mut split = images.clone();
    split[1].labels.tags.insert("other".into());
    assert_eq!(kept(&dedup(&split, &s)).len(), 3);
}

#[test]
fn kept_images_are_never_within_the_threshold_of_each_other() {
    let images: Vec<PoolImage> = (0..30)
        .map(|k| {
            image(
                &format!("cam/{k:02}.jpg"),
                Bucket::Normal,
                &[],
                None,
                blob(4.0 + 0.25 * k as f32, 10.0 + 0.2 * (k % 3) as f32, 1.0),
            )
        })
        .collect();
    let t = 0.99;
    let d = dedup(&images, &settings(Threshold::Similarity(t)));
    let sig: Vec<&Signature> = images.iter().map(|i| &i.features.signature).collect();
    let k = kept(&d);
    assert!(k.len() > 1 && k.len() < 30, "{k:?}");
    for (x, &a) in k.iter().enumerate() {
        for &b in &k[x + 1..] {
            let close = similarity(sig[a], sig[b]) >= t
                && images[a].features.phash.distance(images[b].features.phash) <= CANDIDATE_RADIUS;
            assert!(!close, "kept {a} and {b} are duplicates");
        }
    }
    for (i, r) in d.removed.iter().enumerate() {
        if let Some(Removal::Near { kept }) = r {
            assert!(
                similarity(sig[i], sig[*kept]) >= t,
                "{i} dropped for a dissimilar {kept}"
            );
        }
    }
}

#[test]
fn an_interrupted_near_pass_stops() {
    let images = pool();
    let removed = vec![None; images.len()];
    let s = settings(Threshold::Similarity(0.98));
    let set = std::sync::atomic::AtomicBool::new(true);
    assert_eq!(
        dedup_after(&images, &s, removed.clone(), &set).unwrap_err(),
        crate::cancel::Interrupted
    );
    assert!(dedup_after(&images, &s, removed, &crate::cancel::NEVER).is_ok());
}
