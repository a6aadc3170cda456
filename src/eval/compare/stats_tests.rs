use super::*;

#[test]
fn mcnemar_matches_the_binomial_tail_by_hand() {
    // n = 10, P(X <= 2) = (1 + 10 + 45) / 1024 = 0.0546875, doubled.
    assert!((mcnemar(8, 2) - 0.109375).abs() < 1e-12);
    assert!((mcnemar(2, 8) - 0.109375).abs() < 1e-12);
    // n = 5, P(X <= 0) = 1/32, doubled.
    assert!((mcnemar(5, 0) - 0.0625).abs() < 1e-12);
    assert_eq!(mcnemar(0, 0), 1.0);
    assert_eq!(mcnemar(3, 3), 1.0);
    // Thousands of pairs: no underflow to 0 or NaN, and an even split is not significant.
    let p = mcnemar(2000, 2000);
    assert!(p > 0.5 && p <= 1.0, "{p}");
    assert!(mcnemar(2300, 1700) < 1e-10);
}

#[test]
fn identical_runs_differ_by_nothing() {
    let a = [0.2, 0.5, 1.0, 0.0];
    let diffs: Vec<f64> = a.iter().zip(&a).map(|(x, y)| x - y).collect();
    let i = bootstrap(&diffs, &draws(4, 200, 7));
    assert_eq!((i.estimate, i.low, i.high, i.p_value), (0.0, 0.0, 0.0, 1.0));
    assert_eq!(tally(&a, &a, true), (0, 0, 4));
    assert_eq!(detectable(&diffs), Some(0.0));
}

#[test]
fn a_constant_shift_has_exactly_that_interval() {
    let diffs = [0.25; 30];
    let i = bootstrap(&diffs, &draws(30, 500, 1));
    assert_eq!((i.estimate, i.low, i.high), (0.25, 0.25, 0.25));
    // Not one resampled mean is on the other side of zero.
    assert_eq!(i.p_value, 0.0);
}

#[test]
fn the_interval_holds_the_observed_mean_and_is_reproducible() {
    let diffs: Vec<f64> = (0..40).map(|i| f64::from(i % 5) * 0.1 - 0.1).collect();
    let d = draws(40, 1000, 3);
    let i = bootstrap(&diffs, &d);
    assert!((i.estimate - 0.1).abs() < 1e-12);
    assert!(i.low < i.estimate && i.estimate < i.high, "{i:?}");
    assert!(i.p_value < 0.05, "{i:?}");
    assert_eq!(i, bootstrap(&diffs, &draws(40, 1000, 3)));
    assert_ne!(d, draws(40, 1000, 4));
}

#[test]
fn a_symmetric_difference_is_not_significant() {
    let diffs: Vec<f64> = (0..20)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let i = bootstrap(&diffs, &draws(20, 1000, 0));
    assert_eq!(i.estimate, 0.0);
    assert!(i.low < 0.0 && i.high > 0.0);
    assert_eq!(i.p_value, 1.0);
}

#[test]
fn wins_follow_the_metric_direction() {
    let run = [1.0, 2.0, 3.0, 3.0 + 1e-12];
    let base = [2.0, 1.0, 3.0, 3.0];
    assert_eq!(tally(&run, &base, true), (1, 1, 2));
    // Latency: lower wins.
    assert_eq!(tally(&[100.0, 300.0], &[200.0, 200.0], false), (1, 1, 0));
}

#[test]
fn detectable_difference_follows_the_formula() {
    // Differences 1 and 3: mean 2, sd sqrt(2), n 2 -> 2.8016 * sqrt(2) / sqrt(2) = 2.8016.
    let mde = detectable(&[1.0, 3.0]).unwrap();
    assert!((mde - 2.8016).abs() < 1e-12);
    // 0, 0, 3, 3: sd = sqrt(9 / 3) = sqrt(3), n = 4 -> 2.8016 * sqrt(3) / 2.
    let mde = detectable(&[0.0, 0.0, 3.0, 3.0]).unwrap();
    assert!((mde - 2.8016 * 3f64.sqrt() / 2.0).abs() < 1e-12);
    assert_eq!(detectable(&[1.0]), None);
}

#[test]
fn factorial_effects_by_hand() {
    // Two items. Item 1: bo 0, bn 0.4, to 0.2, tn 0.8; item 2: bo 0, bn 0.2, to 0, tn 0.6.
    // rag: ((0.4 + 0.6) / 2 + (0.2 + 0.6) / 2) / 2 = 0.45
    // finetune: ((0.2 + 0.4) / 2 + (0 + 0.4) / 2) / 2 = 0.25
    // interaction: ((0.6 - 0.4) + (0.6 - 0.2)) / 2 = 0.3
    let c = Cells {
        base_off: &[0.0, 0.0],
        base_on: &[0.4, 0.2],
        tuned_off: &[0.2, 0.0],
        tuned_on: &[0.8, 0.6],
    };
    let [rag, ft, int] = factorial(&c, &draws(2, 300, 5));
    assert!((rag.estimate - 0.45).abs() < 1e-12);
    assert!((ft.estimate - 0.25).abs() < 1e-12);
    assert!((int.estimate - 0.3).abs() < 1e-12);
    // The per-item rag effects are 0.5 and 0.4: every resampled mean lies between them.
    assert!(rag.low >= 0.4 - 1e-12 && rag.high <= 0.5 + 1e-12, "{rag:?}");
}

#[test]
fn cohen_kappa_by_hand() {
    // 10 pairs: 4 both 1, 3 both 0, 2 (1, 0), 1 (0, 1). Observed 0.7; rates 0.6 and 0.5, so
    // chance 0.6 * 0.5 + 0.4 * 0.5 = 0.5; kappa (0.7 - 0.5) / 0.5 = 0.4.
    let mut pairs = vec![(1.0, 1.0); 4];
    pairs.extend([(0.0, 0.0); 3]);
    pairs.extend([(1.0, 0.0); 2]);
    pairs.push((0.0, 1.0));
    assert!((cohen_kappa(&pairs).unwrap() - 0.4).abs() < 1e-12);
    // Every rating 1 by both: chance agreement is total, kappa is undefined.
    assert_eq!(cohen_kappa(&[(1.0, 1.0); 3]), None);
    assert_eq!(cohen_kappa(&[]), None);
    // Perfect disagreement with balanced rates: -1.
    assert_eq!(cohen_kappa(&[(1.0, 0.0), (0.0, 1.0)]), Some(-1.0));
}
