//! What all symbols share: the weekly activity profile (sessions and weekends), the
//! volatility regime chain and the common market factor.

use rand::distributions::Open01;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Minutes in a week; the seasonality tables have one entry per minute of the week.
pub(crate) const MINUTES_PER_WEEK: usize = 7 * 1440;

/// Volatility regime of the whole market (a Markov chain shared by all symbols).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Regime {
    /// Volatility ×0.65, volume ×0.8; mean duration 36 h.
    Low = 0,
    /// Volatility ×1.0, volume ×1.0; mean duration 24 h.
    Medium = 1,
    /// Volatility ×2.0, volume ×1.6; mean duration 8 h.
    High = 2,
}

impl Regime {
    /// Multiplier on every symbol's return volatility in this regime.
    pub const fn volatility_multiplier(self) -> f64 {
        match self {
            Regime::Low => 0.65,
            Regime::Medium => 1.0,
            Regime::High => 2.0,
        }
    }

    /// Multiplier on every symbol's volume in this regime.
    pub const fn volume_multiplier(self) -> f64 {
        match self {
            Regime::Low => 0.8,
            Regime::Medium => 1.0,
            Regime::High => 1.6,
        }
    }

    /// Mean time spent in the regime before leaving it, in minutes.
    pub const fn mean_duration_minutes(self) -> f64 {
        match self {
            Regime::Low => 36.0 * 60.0,
            Regime::Medium => 24.0 * 60.0,
            Regime::High => 8.0 * 60.0,
        }
    }

    /// Where the chain goes when it leaves `self`: Low → Medium, High → Medium,
    /// Medium → Low with probability 0.55, else High. `u` is uniform in [0, 1).
    fn next(self, u: f64) -> Regime {
        match self {
            Regime::Low | Regime::High => Regime::Medium,
            Regime::Medium if u < 0.55 => Regime::Low,
            Regime::Medium => Regime::High,
        }
    }
}

/// Per-minute factor volatility σ_m of the common market factor (≈ 43 % a year).
pub(crate) const MARKET_FACTOR_SIGMA_PER_MINUTE: f64 = 6.0e-4;
/// Market-wide jumps (crashes and squeezes hit every symbol through its beta):
/// one per 7 days on average, size N(0, (15 σ_m)²).
const MARKET_JUMPS_PER_MINUTE: f64 = 1.0 / (7.0 * 1440.0);
const MARKET_JUMP_SIGMAS: f64 = 15.0;

/// Degrees of freedom of the Student-t innovations.
const STUDENT_T_DF: f64 = 4.0;
/// Innovations are clipped to ±this many standard deviations, so that even a
/// 1-in-10^16 draw cannot overflow a price.
const INNOVATION_CLIP: f64 = 30.0;

/// A Student-t (ν = 4) variate scaled to unit variance, clipped to ±30.
///
/// Exact and cheap for ν = 4: χ²₄ = −2 ln(U₁U₂) with U uniform on (0, 1), so
/// t₄ = Z / √(χ²₄ / 4) = Z / √(−ln(U₁U₂) / 2); Var(t₄) = ν/(ν−2) = 2, hence the
/// factor 1/√2.
#[inline]
pub(crate) fn student_t4(rng: &mut ChaCha8Rng) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    let u1: f64 = rng.sample(Open01);
    let u2: f64 = rng.sample(Open01);
    let chi2_over_df = -(u1 * u2).ln() / 2.0;
    let t = z / chi2_over_df.sqrt() * ((STUDENT_T_DF - 2.0) / STUDENT_T_DF).sqrt();
    t.clamp(-INNOVATION_CLIP, INNOVATION_CLIP)
}

/// `x` ramps linearly from 0 at `open` to 1 half an hour later, stays 1 and ramps
/// down to 0 at `close` (hours UTC).
fn session(hour: f64, open: f64, close: f64) -> f64 {
    const RAMP_HOURS: f64 = 0.5;
    if hour < open || hour >= close {
        return 0.0;
    }
    ((hour - open) / RAMP_HOURS)
        .min((close - hour) / RAMP_HOURS)
        .min(1.0)
}

/// The weekly activity profile, one value per minute of the week (index 0 is
/// Monday 00:00 UTC).
///
/// Activity at UTC hour h (minute midpoint):
/// `a(h) = 0.35 + 0.40·tokyo(h) + 0.70·london(h) + 0.90·new_york(h) + open(h)`, with
/// sessions Tokyo 00–09, London 07–16, New York 13–22 (each ramped over 30 min by
/// [`session`]) and `open(h) = 0.6·exp(−(h − 13.5)·4)` for 13:30 ≤ h < 15:30 (the US
/// cash open burst). Saturdays and Sundays: volume ×0.5, variance ×0.6.
/// Both tables are normalized to a weekly mean of 1 so the profile's annualized
/// volatility and average notional are those of the symbol tables.
pub(crate) struct Seasonality {
    /// Volume multiplier per minute of the week (mean 1).
    pub volume: Vec<f64>,
    /// Return-variance multiplier per minute of the week (mean 1).
    pub variance: Vec<f64>,
}

impl Seasonality {
    pub fn new() -> Self {
        let mut volume = Vec::with_capacity(MINUTES_PER_WEEK);
        let mut variance = Vec::with_capacity(MINUTES_PER_WEEK);
        for minute in 0..MINUTES_PER_WEEK {
            let day = minute / 1440;
            let hour = (minute % 1440) as f64 / 60.0 + 0.5 / 60.0;
            let us_open = if (13.5..15.5).contains(&hour) {
                0.6 * (-(hour - 13.5) * 4.0).exp()
            } else {
                0.0
            };
            let activity = 0.35
                + 0.40 * session(hour, 0.0, 9.0)
                + 0.70 * session(hour, 7.0, 16.0)
                + 0.90 * session(hour, 13.0, 22.0)
                + us_open;
            let weekend = day >= 5;
            volume.push(activity * if weekend { 0.5 } else { 1.0 });
            variance.push(activity * if weekend { 0.6 } else { 1.0 });
        }
        normalize_mean(&mut volume);
        normalize_mean(&mut variance);
        Self { volume, variance }
    }
}

fn normalize_mean(values: &mut [f64]) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter_mut().for_each(|v| *v /= mean);
}

/// Minute of the week (0 = Monday 00:00 UTC) of a timestamp. 1970-01-01 was a
/// Thursday, i.e. day 3 of a Monday-based week.
pub(crate) fn minute_of_week(ts_ms: i64) -> usize {
    let minutes = ts_ms.div_euclid(60_000);
    (minutes + 3 * 1440).rem_euclid(MINUTES_PER_WEEK as i64) as usize
}

/// The path every symbol shares, one entry per bar (missing bars included).
///
/// For a bar of Δ minutes starting at minute-of-week m:
/// - `vol_scale = regime.volatility_multiplier() · √(Σ_{k<Δ} variance[m+k])`, the
///   factor that turns a per-minute volatility into this bar's volatility (so a
///   5m bar has √5 times the 1m volatility, seasonality and regime included);
/// - `volume_scale = regime.volume_multiplier() · Σ_{k<Δ} volume[m+k]`, the factor
///   that turns a per-minute average volume into this bar's expected volume;
/// - `factor_return = σ_m · vol_scale · t₄ + J`, where σ_m = 6e-4, t₄ is a
///   unit-variance Student-t and J a market jump N(0, (15 σ_m)²) that occurs with
///   probability 1 − exp(−Δ/10080) (one per week on average).
///
/// The regime chain leaves regime R during a bar with probability
/// 1 − (1 − 1/D_R)^Δ (D_R its mean duration in minutes), which matches Δ one-minute
/// steps up to the chance of two switches within one bar.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketPath {
    regime: Vec<Regime>,
    factor_return: Vec<f64>,
    vol_scale: Vec<f64>,
    volume_scale: Vec<f64>,
}

impl MarketPath {
    pub(crate) fn simulate(
        rng: &mut ChaCha8Rng,
        seasonality: &Seasonality,
        start_ms: i64,
        bar_minutes: usize,
        bars: usize,
    ) -> Self {
        // Prefix sums over two weeks so a bar that wraps past Sunday 23:59 is one slice.
        let prefix = |table: &[f64]| {
            let mut sums = Vec::with_capacity(2 * MINUTES_PER_WEEK + 1);
            sums.push(0.0);
            let mut acc = 0.0;
            for v in table.iter().chain(table.iter()) {
                acc += v;
                sums.push(acc);
            }
            sums
        };
        let variance_sums = prefix(&seasonality.variance);
        let volume_sums = prefix(&seasonality.volume);
        let first_minute = minute_of_week(start_ms);

        let dt = bar_minutes as f64;
        let leave_probability = |r: Regime| 1.0 - (1.0 - 1.0 / r.mean_duration_minutes()).powf(dt);
        let jump_probability = 1.0 - (-MARKET_JUMPS_PER_MINUTE * dt).exp();
        let jump_sigma = MARKET_JUMP_SIGMAS * MARKET_FACTOR_SIGMA_PER_MINUTE;

        let mut path = MarketPath {
            regime: Vec::with_capacity(bars),
            factor_return: Vec::with_capacity(bars),
            vol_scale: Vec::with_capacity(bars),
            volume_scale: Vec::with_capacity(bars),
        };
        let mut regime = Regime::Medium;
        for bar in 0..bars {
            let m = (first_minute + bar * bar_minutes) % MINUTES_PER_WEEK;
            let variance = variance_sums[m + bar_minutes] - variance_sums[m];
            let volume = volume_sums[m + bar_minutes] - volume_sums[m];
            let vol_scale = regime.volatility_multiplier() * variance.sqrt();
            let mut factor = MARKET_FACTOR_SIGMA_PER_MINUTE * vol_scale * student_t4(rng);
            if rng.gen::<f64>() < jump_probability {
                let z: f64 = rng.sample(StandardNormal);
                factor += jump_sigma * z;
            }
            path.regime.push(regime);
            path.factor_return.push(factor);
            path.vol_scale.push(vol_scale);
            path.volume_scale.push(regime.volume_multiplier() * volume);
            // The regime of the next bar.
            if rng.gen::<f64>() < leave_probability(regime) {
                regime = regime.next(rng.gen::<f64>());
            }
        }
        path
    }

    /// Number of bars (missing bars included).
    pub fn len(&self) -> usize {
        self.regime.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regime.is_empty()
    }

    /// The volatility regime of each bar.
    pub fn regimes(&self) -> &[Regime] {
        &self.regime
    }

    /// The common factor's log return in each bar.
    pub fn factor_returns(&self) -> &[f64] {
        &self.factor_return
    }

    /// Per-minute volatility → bar volatility multiplier of each bar (see type doc).
    pub fn vol_scales(&self) -> &[f64] {
        &self.vol_scale
    }

    /// Per-minute volume → bar expected volume multiplier of each bar (see type doc).
    pub fn volume_scales(&self) -> &[f64] {
        &self.volume_scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn monday_2024_is_minute_zero_of_the_week() {
        assert_eq!(minute_of_week(1_704_067_200_000), 0);
        // Sunday 2024-01-07 23:59.
        assert_eq!(
            minute_of_week(1_704_067_200_000 + (7 * 1440 - 1) * 60_000),
            MINUTES_PER_WEEK - 1
        );
    }

    #[test]
    fn seasonality_tables_have_unit_mean_and_sessions() {
        let s = Seasonality::new();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(&s.volume) - 1.0).abs() < 1e-12);
        assert!((mean(&s.variance) - 1.0).abs() < 1e-12);
        // Tuesday 14:00 (London + New York) vs Tuesday 23:00 (no session).
        let tue = 1440;
        assert!(s.volume[tue + 14 * 60] > 3.0 * s.volume[tue + 23 * 60]);
        // Saturday 14:00 is half of Tuesday 14:00.
        let sat = 5 * 1440;
        assert!((s.volume[sat + 14 * 60] / s.volume[tue + 14 * 60] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn student_t4_has_unit_variance_and_fat_tails() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 400_000;
        let draws: Vec<f64> = (0..n).map(|_| student_t4(&mut rng)).collect();
        let var = draws.iter().map(|x| x * x).sum::<f64>() / n as f64;
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
        // P(|N(0,1)| > 4) ≈ 6e-5; the unit-variance t4 has ≈ 1.5e-3.
        let beyond_four = draws.iter().filter(|x| x.abs() > 4.0).count() as f64 / n as f64;
        assert!(beyond_four > 5e-4, "tail share {beyond_four}");
    }

    #[test]
    fn coarser_bars_carry_the_summed_variance_and_volume() {
        let s = Seasonality::new();
        let start = 1_704_067_200_000;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let one = MarketPath::simulate(&mut rng, &s, start, 1, 7 * 1440);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let five = MarketPath::simulate(&mut rng, &s, start, 5, 7 * 288);
        // Without regime effects: volume scale of a 5m bar = sum of its 1m scales.
        let strip = |p: &MarketPath, i: usize| p.volume_scale[i] / p.regime[i].volume_multiplier();
        for bar in [0, 100, 1000, 2000] {
            let summed: f64 = (0..5).map(|k| strip(&one, bar * 5 + k)).sum();
            assert!((strip(&five, bar) - summed).abs() < 1e-9);
        }
        // One week of volume scales sums to 7·1440 in both (before regimes).
        let total = |p: &MarketPath| (0..p.len()).map(|i| strip(p, i)).sum::<f64>();
        assert!((total(&one) - 10_080.0).abs() < 1e-6);
        assert!((total(&five) - 10_080.0).abs() < 1e-6);
    }
}
