//! Wilder ATR(14) against ta 0.11 (fixture copied from shared/goldens).

use gauntlet_engine::atr::wilder_atr;

#[test]
fn matches_ta_average_true_range() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ta/eurusd_atr14.csv"
    );
    let mut r = csv::Reader::from_path(path).unwrap();
    let (mut h, mut l, mut c, mut expected) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in r.records() {
        let row = row.unwrap();
        let f = |i: usize| row[i].parse::<f64>().unwrap();
        h.push(f(0));
        l.push(f(1));
        c.push(f(2));
        expected.push(f(3));
    }
    assert_eq!(expected.len(), 5000);
    let mut atr = Vec::new();
    wilder_atr(&h, &l, &c, 14, &mut atr);
    for i in 0..13 {
        assert!(
            atr[i].is_nan(),
            "row {i}: warm-up is NaN here (ta writes 0)"
        );
        assert_eq!(expected[i], 0.0);
    }
    for i in 13..expected.len() {
        assert!(
            (atr[i] - expected[i]).abs() <= 1e-12 * expected[i].abs().max(1e-3),
            "row {i}: {} vs {}",
            atr[i],
            expected[i]
        );
    }
}
