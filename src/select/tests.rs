use super::*;
use crate::label::PerBucket;

/// [`super::select`] that cannot be interrupted.
fn select(images: &[PoolImage], candidates: &[usize], plan: &Plan<'_>) -> Selection {
    super::select(images, candidates, plan).expect("never interrupted")
}
use crate::pool::fake::{blob, image};

fn img(rel: &str, bucket: Bucket, tags: &[&str], camera: Option<&str>) -> PoolImage {
    image(rel, bucket, tags, camera, blob(5.0, 5.0, 1.0))
}

fn plan_of(
    buckets: &PerBucket<BucketPlan>,
    camera_min: usize,
    policy: ShortfallPolicy,
) -> Plan<'_> {
    Plan {
        buckets,
        camera_min,
        seed: 1,
        shortfall: policy,
        balance: &Balance::Proportional,
        cancel: &crate::cancel::NEVER,
    }
}

fn hard(count: usize, quota: &[(&str, usize)], min: &[(&str, usize)]) -> PerBucket<BucketPlan> {
    PerBucket {
        hard: BucketPlan {
            count,
            quota: quota.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            min: min.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            ..BucketPlan::default()
        },
        ..PerBucket::default()
    }
}

fn all(images: &[PoolImage]) -> Vec<usize> {
    (0..images.len()).collect()
}

fn slot_of(sel: &Selection, image: usize) -> Option<String> {
    sel.picks
        .iter()
        .find(|p| p.image == image)
        .map(|p| p.slot.label())
}

#[test]
fn overlapping_tags_are_assigned_where_greedy_fails() {
    // A greedy fill that gives the night+rain image to `night` leaves `rain`
    // empty. Whatever the preference order, the flow finds the complete fill.
    for seed in 0..20 {
        let images = vec![
            img("a.jpg", Bucket::Hard, &["night", "rain"], None),
            img("b.jpg", Bucket::Hard, &["night"], None),
            img("c.jpg", Bucket::Hard, &["night"], None),
        ];
        let buckets = hard(2, &[("night", 1), ("rain", 1)], &[]);
        let mut plan = plan_of(&buckets, 0, ShortfallPolicy::Fail);
        plan.seed = seed;
        let sel = select(&images, &all(&images), &plan);
        assert!(
            sel.shortfalls.is_empty(),
            "seed {seed}: {:?}",
            sel.shortfalls
        );
        assert_eq!(slot_of(&sel, 0).as_deref(), Some("rain"));
        assert_eq!(sel.picks.len(), 2);
    }
}

#[test]
fn minimums_and_free_share() {
    let mut images = Vec::new();
    for k in 0..6 {
        images.push(img(&format!("t{k}.jpg"), Bucket::Hard, &["texture"], None));
    }
    for k in 0..6 {
        images.push(img(&format!("n{k}.jpg"), Bucket::Hard, &["night"], None));
    }
    // count 8: exactly 2 night (quota), at least 3 texture, 3 free. With
    // `free = "untagged"` the free share may not take night images.
    let mut buckets = hard(8, &[("night", 2)], &[("texture", 3)]);
    buckets.hard.free = FreeShare::Untagged;
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert!(sel.shortfalls.is_empty());
    let night = sel
        .picks
        .iter()
        .filter(|p| images[p.image].labels.tags.contains("night"))
        .count();
    assert_eq!(night, 2);
    assert_eq!(sel.picks.len(), 8);
    let free = sel
        .slots
        .iter()
        .find(|s| s.bucket == Bucket::Hard && s.slot == SlotKind::Free)
        .unwrap();
    assert_eq!((free.wanted, free.filled, free.available), (3, 3, 6));
}

#[test]
fn shortfall_names_the_quota_and_fill_tops_it_up() {
    let mut images = vec![
        img("n1.jpg", Bucket::Hard, &["night"], None),
        img("n2.jpg", Bucket::Hard, &["night"], None),
    ];
    for k in 0..5 {
        images.push(img(&format!("u{k}.jpg"), Bucket::Hard, &[], None));
    }
    let buckets = hard(5, &[("night", 4)], &[]);
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert_eq!(
        sel.shortfalls,
        vec![Shortfall::Slot {
            bucket: Bucket::Hard,
            slot: SlotKind::Quota("night".into()),
            wanted: 4,
            filled: 2,
            available: 2,
            tagged: 0,
        }]
    );
    assert_eq!(
        sel.shortfalls[0].to_string(),
        "bucket hard, tag night: wanted 4, filled 2 (2 distinct images available after dedup)"
    );

    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fill),
    );
    assert!(sel.shortfalls.is_empty(), "{:?}", sel.shortfalls);
    assert_eq!(sel.picks.len(), 5);
    assert_eq!(
        sel.topped_up,
        vec![TopUp {
            bucket: Bucket::Hard,
            slot: SlotKind::Quota("night".into()),
            moved: 2
        }]
    );
}

#[test]
fn camera_minimums_are_met_when_possible_and_reported_when_not() {
    let mut images = Vec::new();
    for k in 0..20 {
        images.push(img(
            &format!("a/{k:02}.jpg"),
            Bucket::Hard,
            &[],
            Some("big"),
        ));
    }
    for k in 0..3 {
        images.push(img(
            &format!("b/{k:02}.jpg"),
            Bucket::Hard,
            &[],
            Some("small"),
        ));
    }
    images.push(img("c/00.jpg", Bucket::Hard, &[], Some("tiny")));
    let buckets = hard(8, &[], &[]);
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 3, ShortfallPolicy::Fail),
    );
    let chosen = |c: &str| sel.cameras.iter().find(|f| f.camera == c).unwrap().chosen;
    assert!(chosen("big") >= 3);
    assert_eq!(chosen("small"), 3);
    assert_eq!(chosen("tiny"), 1);
    assert_eq!(
        sel.shortfalls,
        vec![Shortfall::Camera {
            camera: "tiny".into(),
            wanted: 3,
            chosen: 1,
            available: 1
        }]
    );
}

#[test]
fn a_camera_left_without_candidates_is_still_short() {
    // Camera "gone" has images in the pool, but dedup removed them all.
    let mut images: Vec<PoolImage> = (0..10)
        .map(|k| img(&format!("a/{k:02}.jpg"), Bucket::Hard, &[], Some("big")))
        .collect();
    images.push(img("g/00.jpg", Bucket::Hard, &[], Some("gone")));
    let candidates: Vec<usize> = (0..10).collect();
    let buckets = hard(5, &[], &[]);
    let sel = select(
        &images,
        &candidates,
        &plan_of(&buckets, 2, ShortfallPolicy::Fail),
    );
    assert_eq!(
        sel.shortfalls,
        vec![Shortfall::Camera {
            camera: "gone".into(),
            wanted: 2,
            chosen: 0,
            available: 0
        }]
    );
    assert_eq!(sel.picks.len(), 5);
}

#[test]
fn picks_spread_across_the_sequence_and_depend_on_the_seed() {
    let images: Vec<PoolImage> = (0..64)
        .map(|k| img(&format!("cam/{k:03}.jpg"), Bucket::Hard, &[], Some("cam")))
        .collect();
    let buckets = hard(4, &[], &[]);
    let pick = |seed| {
        let mut plan = plan_of(&buckets, 0, ShortfallPolicy::Fail);
        plan.seed = seed;
        let mut v: Vec<usize> = select(&images, &all(&images), &plan)
            .picks
            .iter()
            .map(|p| p.image)
            .collect();
        v.sort_unstable();
        v
    };
    let a = pick(1);
    assert_eq!(a, pick(1), "same seed, same picks");
    assert_ne!(a, pick(2), "another seed, other picks");
    // Four picks out of 64 frames land in four different quarters of the sequence.
    let mut quarters: Vec<usize> = a.iter().map(|i| i / 16).collect();
    quarters.dedup();
    assert_eq!(quarters.len(), 4, "{a:?}");
}

#[test]
fn class_slots_and_label_keys() {
    let mut images = Vec::new();
    for (k, classes) in [&["car"][..], &["car", "bus"], &["person"], &["car"], &[]]
        .iter()
        .enumerate()
    {
        let mut i = img(
            &format!("{k}.jpg"),
            Bucket::Normal,
            &[],
            Some(if k % 2 == 0 { "a" } else { "b" }),
        );
        i.labels.classes = classes.iter().map(|c| c.to_string()).collect();
        images.push(i);
    }
    let buckets = PerBucket {
        normal: BucketPlan {
            count: 4,
            quota: [("camera=b".to_string(), 1)].into(),
            classes: [("bus".to_string(), 1), ("person".to_string(), 1)].into(),
            ..BucketPlan::default()
        },
        ..PerBucket::default()
    };
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert!(sel.shortfalls.is_empty(), "{:?}", sel.shortfalls);
    assert_eq!(slot_of(&sel, 1).as_deref(), Some("class:bus"));
    assert_eq!(slot_of(&sel, 2).as_deref(), Some("class:person"));
    // camera b holds images 1 and 3; 1 serves bus, so 3 fills `camera=b`.
    assert_eq!(slot_of(&sel, 3).as_deref(), Some("camera=b"));

    let buckets = PerBucket {
        normal: BucketPlan {
            count: 4,
            classes: [("truck".to_string(), 2)].into(),
            ..BucketPlan::default()
        },
        ..PerBucket::default()
    };
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert_eq!(
        sel.shortfalls[0].to_string(),
        "bucket normal, class truck: wanted 2, filled 0 (0 distinct images available after dedup)"
    );
}

#[test]
fn a_free_rest_beside_per_tag_quotas_takes_tagged_images_last() {
    // The seed's "hard: night, rain, blur, each at least N, rest any": every
    // hard image carries a quota tag, so the free share must take some.
    let mut images = Vec::new();
    for tag in ["night", "rain", "blur"] {
        for k in 0..6 {
            images.push(img(&format!("{tag}{k}.jpg"), Bucket::Hard, &[tag], None));
        }
    }
    let mut buckets = hard(12, &[("night", 3), ("rain", 3), ("blur", 3)], &[]);
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert!(sel.shortfalls.is_empty(), "{:?}", sel.shortfalls);
    assert_eq!(sel.picks.len(), 12);
    let spilled: usize = sel.spill.iter().map(|s| s.images).sum();
    assert_eq!(spilled, 3, "{:?}", sel.spill);
    // With one untagged image, it goes to the free share before tagged ones.
    images.push(img("plain.jpg", Bucket::Hard, &[], None));
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert_eq!(slot_of(&sel, images.len() - 1).as_deref(), Some("free"));
    assert_eq!(sel.spill.iter().map(|s| s.images).sum::<usize>(), 2);
    // Strict: the free share comes up short, with the true count available.
    buckets.hard.free = FreeShare::Untagged;
    let sel = select(
        &images,
        &all(&images),
        &plan_of(&buckets, 0, ShortfallPolicy::Fail),
    );
    assert_eq!(
        sel.shortfalls,
        vec![Shortfall::Slot {
            bucket: Bucket::Hard,
            slot: SlotKind::Free,
            wanted: 3,
            filled: 1,
            available: 1,
            tagged: 18,
        }]
    );
}

#[test]
fn cameras_share_picks_in_proportion_or_equally() {
    // cam a has 30 images, cam b 10, and 10 have no camera: 20 picks.
    let mut images = Vec::new();
    for (cam, n) in [(Some("a"), 30), (Some("b"), 10), (None, 10)] {
        for k in 0..n {
            let name = format!("{}/{k:03}.jpg", cam.unwrap_or("stills"));
            images.push(img(&name, Bucket::Normal, &[], cam));
        }
    }
    let buckets = PerBucket {
        normal: BucketPlan {
            count: 20,
            ..BucketPlan::default()
        },
        ..PerBucket::default()
    };
    let count = |sel: &Selection, cam: Option<&str>| {
        sel.picks
            .iter()
            .filter(|p| images[p.image].labels.camera.as_deref() == cam)
            .count()
    };
    let mut plan = plan_of(&buckets, 0, ShortfallPolicy::Fail);
    let sel = select(&images, &all(&images), &plan);
    assert_eq!(
        (
            count(&sel, Some("a")),
            count(&sel, Some("b")),
            count(&sel, None)
        ),
        (12, 4, 4)
    );
    let a = sel.cameras.iter().find(|c| c.camera == "a").unwrap();
    assert_eq!((a.set_share, a.pool_share), (0.6, 0.6));
    assert_eq!(sel.no_camera.as_ref().map(|n| n.chosen), Some(4));
    plan.balance = &Balance::Equal;
    let sel = select(&images, &all(&images), &plan);
    let (ca, cb, cn) = (
        count(&sel, Some("a")),
        count(&sel, Some("b")),
        count(&sel, None),
    );
    assert!(
        (6..=7).contains(&ca) && (6..=7).contains(&cb) && (6..=7).contains(&cn),
        "{ca} {cb} {cn}"
    );
    let weights = Balance::Weights(
        [
            ("a".to_owned(), 1.0),
            ("b".to_owned(), 3.0),
            ("-".to_owned(), 0.0),
        ]
        .into(),
    );
    plan.balance = &weights;
    let sel = select(&images, &all(&images), &plan);
    assert_eq!(
        (
            count(&sel, Some("a")),
            count(&sel, Some("b")),
            count(&sel, None)
        ),
        (10, 10, 0)
    );
}
