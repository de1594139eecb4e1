//! Small statistics the engine shares: the median that its robust measurements take, and error
//! rates with honest bounds for the reports that measure the engine (presentation attacks, face
//! matching): a rate measured on tens or thousands of trials is a range, not a number.

/// The median of `values`: the middle one, the upper of the two middle ones when they are even
/// (always a value that was measured); `None` when there are none.
pub fn median(values: impl IntoIterator<Item = f32>) -> Option<f32> {
    let mut v: Vec<f32> = values.into_iter().collect();
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

/// The exact (Clopper–Pearson) 95 % interval of a proportion of `k` in `n`.
pub fn clopper_pearson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    // P(X <= k) for X ~ Binomial(n, p).
    let cdf = |k: usize, p: f64| -> f64 {
        let mut term = (1.0 - p).powi(n as i32); // P(X = 0)
        let mut sum = term;
        for i in 0..k {
            term *= (n - i) as f64 / (i + 1) as f64 * p / (1.0 - p).max(1e-300);
            sum += term;
        }
        sum.min(1.0)
    };
    // The p at which `f(p)` (monotone) crosses 0.025, by bisection.
    let solve = |f: &dyn Fn(f64) -> f64, increasing: bool| {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if (f(mid) < 0.025) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    };
    let low = if k == 0 {
        0.0
    } else {
        solve(&|p| 1.0 - cdf(k - 1, p), true)
    };
    let high = if k == n {
        1.0
    } else {
        solve(&|p| cdf(k, p), false)
    };
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::clopper_pearson;

    #[test]
    fn clopper_pearson_matches_its_tables() {
        // 0 of 30: the "rule of three" bound is 10 %; the exact one is 11.57 %.
        let (low, high) = clopper_pearson(0, 30);
        assert_eq!(low, 0.0);
        assert!((high - 0.1157).abs() < 5e-4, "{high}");
        // 5 of 10: 18.7 % to 81.3 %.
        let (low, high) = clopper_pearson(5, 10);
        assert!((low - 0.1871).abs() < 5e-4 && (high - 0.8129).abs() < 5e-4);
    }
}
